#!/usr/bin/env bash
# Desktop benchmarks, Latchkey against a bare Tauri 2 window (benches/bare-window: the same
# Tauri, an empty page, no plugins); run inside scripts/with-keyring (scripts/bench-desktop
# does). Runs alternate between the two; medians. BENCH_ENV='VAR=value ...' is added to
# Latchkey's environment (knob experiments).
#  1. cold start: from exec to the window being mapped (xdotool, polled), both programs; and
#     for Latchkey to the first X frame showing the accounts screen with its data (>= 200
#     pixels of the primary-button colour near the top, which only render once the profiles
#     are loaded), polled on the X server (xwd).
#  2. memory (Latchkey with 20 accounts): RSS and PSS summed over the program and its WebKit
#     processes (web, network), 3 s after the window is up (Latchkey: painted), every run.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
app=${LATCHKEY_DESKTOP_BIN:-$root/target/debug/latchkey-desktop}
bare=${LATCHKEY_BARE_BIN:-$root/target/debug/latchkey-bare-window}
cli=$root/target/debug/latchkey
runs=${BENCH_RUNS:-5}
out=${BENCH_OUT:-$root/bench-results}
mkdir -p "$out"

Xvfb :93 -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 & xvfb=$!
node "$root/tests/authserver/server.mjs" > "$out/authserver.out" 2>/dev/null & srv=$!
cleanup() { kill "$srv" "$xvfb" 2>/dev/null || true; }
trap cleanup EXIT
export DISPLAY=:93
for _ in $(seq 100); do grep -q READY "$out/authserver.out" 2>/dev/null && break; sleep 0.05; done
issuer=$(sed -n 's/^READY //p' "$out/authserver.out")

# 20 accounts over 4 profiles, signed in for real through the CLI (loopback redirect).
export BROWSER=$root/tests/authserver/browser
for p in 1 2 3 4; do
  "$cli" profile add "provider-$p" --issuer "$issuer" --client-id public-app \
    --scope "openid email offline_access" >/dev/null
  for a in 1 2 3 4 5; do
    SCRIPTED_BROWSER_LOGIN="user$p$a" "$cli" login "provider-$p" --account "user$p$a" >/dev/null 2>&1
  done
done
echo "seeded $("$cli" accounts 2>/dev/null | grep -c provider-) accounts" >&2

# Tauri asks the appearance portal for the colour scheme while it creates the window; as on a
# desktop, the portal is already running (started here, when installed) for both programs.
if command -v dbus-update-activation-environment >/dev/null; then
  dbus-update-activation-environment DISPLAY
  dbus-send --session --print-reply --dest=org.freedesktop.portal.Desktop /org/freedesktop/portal/desktop \
    org.freedesktop.portal.Settings.Read string:org.freedesktop.appearance string:color-scheme >/dev/null 2>&1 || true
fi

tree_pids() { # the program and all its descendants
  local pids=("$1") i=0
  while [ $i -lt ${#pids[@]} ]; do
    for c in $(pgrep -P "${pids[$i]}" 2>/dev/null); do pids+=("$c"); done
    i=$((i + 1))
  done
  echo "${pids[@]}"
}
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
declare -A mapped rss pss procs
painted=()

# One run of program $1 (bare or latchkey) with window title $2.
run() {
  local which=$1 title=$2 bin t0 pid ms r_kb p_kb sum_r=0 sum_p=0 names=()
  local extra=()
  if [ "$which" = bare ]; then bin=$bare; else bin=$app; read -ra extra <<<"${BENCH_ENV:-}"; fi
  t0=$(date +%s%N)
  env GTK_THEME=Adwaita "${extra[@]}" "$bin" >/dev/null 2>&1 & pid=$!
  if ! ms=$(python3 "$root/tests/desktop/wait-mapped.py" "$t0" "^$title\$"); then
    echo "$which: the window was never mapped" >&2; import -window root "$out/never-$which.png"; exit 1
  fi
  mapped[$which]+="$ms "
  if [ "$which" = latchkey ]; then
    if ! ms=$(python3 "$root/tests/desktop/wait-paint.py" "$t0"); then
      echo "the accounts window never painted" >&2; import -window root "$out/never.png"; exit 1
    fi
    painted+=("$ms")
  fi
  sleep 3
  for p in $(tree_pids "$pid"); do
    [ -r "/proc/$p/smaps_rollup" ] || continue
    r_kb=$(awk '/^Rss:/{print $2}' "/proc/$p/smaps_rollup"); p_kb=$(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup")
    sum_r=$((sum_r + r_kb)); sum_p=$((sum_p + p_kb)); names+=("$(cat "/proc/$p/comm"):$((r_kb / 1024))/$((p_kb / 1024))MB")
  done
  rss[$which]+="$((sum_r / 1024)) "; pss[$which]+="$((sum_p / 1024)) "; procs[$which]="${names[*]}"
  [ "$which" = latchkey ] && import -window root "$out/bench-20-accounts.png"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 "$root/tests/desktop/wait-mapped.py" "$(date +%s%N)" "^$title\$" gone >/dev/null
}

for r in $(seq "$runs"); do
  # Alternate which goes first, so neither always follows the other's exit.
  if [ $((r % 2)) = 1 ]; then run bare bare-window; run latchkey Latchkey
  else run latchkey Latchkey; run bare bare-window; fi
done

# shellcheck disable=SC2086 # the lists are space-separated numbers
{
  bm=$(median ${mapped[bare]}); lm=$(median ${mapped[latchkey]})
  br=$(median ${rss[bare]}); bp=$(median ${pss[bare]}); lr=$(median ${rss[latchkey]}); lp=$(median ${pss[latchkey]})
  echo "cold start to a mapped window (ms, $runs runs each): bare Tauri window ${mapped[bare]}; median $bm"
  echo "cold start to a mapped window (ms, $runs runs each): Latchkey ${mapped[latchkey]}; median $lm"
  echo "cold start to the painted accounts window, Latchkey (ms): ${painted[*]} ; median $(median "${painted[@]}")"
  echo "memory, bare Tauri window (MB, per run): RSS ${rss[bare]}; PSS ${pss[bare]}; median RSS $br, PSS $bp (${procs[bare]}, RSS/PSS)"
  echo "memory, Latchkey with 20 accounts (MB, per run): RSS ${rss[latchkey]}; PSS ${pss[latchkey]}; median RSS $lr, PSS $lp (${procs[latchkey]}, RSS/PSS)"
  awk -v lm="$lm" -v bm="$bm" -v lr="$lr" -v br="$br" -v lp="$lp" -v bp="$bp" 'BEGIN {
    printf "Latchkey / bare: memory RSS %.2f, PSS %.2f; cold start to a mapped window %.2f (targets <= 1.0)\n", lr / br, lp / bp, lm / bm }'
} | tee "$out/desktop-bench.txt"
