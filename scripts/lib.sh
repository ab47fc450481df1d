# shellcheck shell=bash
# Sourced by the scripts in this folder (not run on its own): what each of them needs first.
#   . "$(dirname "$(readlink -f "$0")")/lib.sh"
# Moves to the repository root, puts cargo on PATH, and offers log/step, the apt install of
# missing packages (as root, or through sudo), the cargo check and a lockfile-stamped npm ci.

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# `log` lines name the script that writes them; `step` prints a heading, after STEP_PREFIX.
SCRIPT_NAME=$(basename "$0")
STEP_PREFIX=${STEP_PREFIX:-}
log() { printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2; }
step() { printf '\n== %s%s\n' "$STEP_PREFIX" "$*" >&2; }

# Installs the Debian packages given (each once), as root or through sudo; without either it
# names them and exits.
apt_install() {
  [ "$#" -gt 0 ] || return 0
  local pkgs sudo=
  mapfile -t pkgs < <(printf '%s\n' "$@" | sort -u)
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      log "missing packages: ${pkgs[*]} — not root and no sudo; install them and rerun"
      exit 1
    fi
    sudo=sudo
  fi
  log "installing: ${pkgs[*]}"
  $sudo apt-get update -qq >/dev/null
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${pkgs[@]}" >/dev/null
}

# Prints the packages given that dpkg does not have installed, one a line.
missing_debs() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || printf '%s\n' "$p"
  done
}

# Exits with the rustup command to run when there is no cargo.
require_cargo() {
  command -v cargo >/dev/null 2>&1 && return 0
  log "cargo not found. Install a Rust toolchain with rustup:"
  log "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal"
  log "then: . \"\$HOME/.cargo/env\" and rerun scripts/setup"
  exit 1
}

# `npm ci` in DIR only when its node_modules does not match the lockfile (a stamp of the
# lockfile's hash is kept in node_modules), or when the package REQUIRED is missing.
npm_ci() {
  local dir=$1 required=${2:-}
  local stamp=$dir/node_modules/.latchkey-lock.sha256 want
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] \
    || { [ -n "$required" ] && [ ! -d "$dir/node_modules/$required" ]; }; then
    log "npm ci in $dir"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
    printf '%s\n' "$want" >"$stamp"
  fi
}

# Reads an optional first argument `--release`: sets `profile` (debug or release) and
# `cargo_flags`; true when the argument was `--release` (for the caller to shift it).
# shellcheck disable=SC2034 # both are read by the sourcing script
release_flag() {
  profile=debug
  cargo_flags=()
  [ "${1:-}" = --release ] || return 1
  profile=release
  cargo_flags=(--release)
}
