#!/usr/bin/env bash
# Desktop benchmarks; run inside scripts/with-keyring (scripts/bench-desktop does).
#  1. cold start -> painted accounts window: from exec to the first X frame showing the
#     accounts screen with its data (>= 200 pixels of the primary-button colour near the top,
#     which only render once the profiles are loaded), polled on the X server (xwd).
#  2. memory with 20 accounts: RSS and PSS of the app and its WebKit processes, 3 s after paint.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
app=${LATCHKEY_DESKTOP_BIN:-$root/target/debug/latchkey-desktop}
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

tree_pids() { # the app and all its descendants
  local pids=("$1") i=0
  while [ $i -lt ${#pids[@]} ]; do
    for c in $(pgrep -P "${pids[$i]}" 2>/dev/null); do pids+=("$c"); done
    i=$((i + 1))
  done
  echo "${pids[@]}"
}

starts=()
for r in $(seq "$runs"); do
  t0=$(date +%s%N)
  env GTK_THEME=Adwaita ${BENCH_ENV:-} "$app" >/dev/null 2>&1 & pid=$!
  if ! ms=$(python3 "$root/tests/desktop/wait-paint.py" "$t0"); then
    echo "the accounts window never painted" >&2; import -window root "$out/never.png"; exit 1
  fi
  starts+=("$ms")
  if [ "$r" = "$runs" ]; then
    sleep 3
    rss=0; pss=0; names=()
    for p in $(tree_pids "$pid"); do
      [ -r "/proc/$p/smaps_rollup" ] || continue
      r_kb=$(awk '/^Rss:/{print $2}' "/proc/$p/smaps_rollup"); p_kb=$(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup")
      rss=$((rss + r_kb)); pss=$((pss + p_kb)); names+=("$(cat /proc/$p/comm):$((r_kb / 1024))MB")
    done
    import -window root "$out/bench-20-accounts.png"
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 "$root/tests/desktop/wait-paint.py" "$(date +%s%N)" gone >/dev/null
done
sorted=$(printf '%s\n' "${starts[@]}" | sort -n)
median=$(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p")
{
  echo "cold start to painted accounts window (ms, $runs runs): ${starts[*]} ; median $median"
  echo "memory with 20 accounts: RSS $((rss / 1024)) MB total, PSS $((pss / 1024)) MB total (${names[*]})"
} | tee "$out/desktop-bench.txt"
