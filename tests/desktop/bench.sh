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
#  3. Latchkey in the tray: its window closed (WM_DELETE_WINDOW, as a close button), once
#     WebKit's processes have ended (or 15 s), 3 s later, RSS and PSS summed the same way; then
#     the window reopened from the tray menu (sni.py: the test's StatusNotifierWatcher, the
#     app's own dbusmenu), timed from the click to the window mapped and to the accounts painted
#     (both polled as for the cold start, the pollers started before the click).
#     Both against the bare window: its memory, and its cold start to a mapped window.
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
sni_dir=$out/sni; mkdir -p "$sni_dir"; : > "$sni_dir/items"
/usr/bin/python3 "$root/tests/desktop/sni.py" serve "$sni_dir" > "$out/sni.out" 2>&1 & sni=$!
trap 'kill "$sni" 2>/dev/null; cleanup' EXIT
for _ in $(seq 100); do grep -q READY "$out/sni.out" 2>/dev/null && break; sleep 0.05; done
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
tray_rss=(); tray_pss=(); tray_procs=; reopen_mapped=(); reopen_painted=()

# Sets r_sum and p_sum (MB) and names: RSS and PSS of program $1 and all its descendants.
measure() {
  local p r_kb p_kb
  r_sum=0; p_sum=0; names=()
  for p in $(tree_pids "$1"); do
    [ -r "/proc/$p/smaps_rollup" ] || continue
    r_kb=$(awk '/^Rss:/{print $2}' "/proc/$p/smaps_rollup"); p_kb=$(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup")
    r_sum=$((r_sum + r_kb)); p_sum=$((p_sum + p_kb)); names+=("$(cat "/proc/$p/comm"):$((r_kb / 1024))/$((p_kb / 1024))MB")
  done
  r_sum=$((r_sum / 1024)); p_sum=$((p_sum / 1024))
}
webkit_children() { # how many WebKit processes program $1 runs
  local n=0 c
  for c in $(pgrep -P "$1" 2>/dev/null); do
    case "$(readlink "/proc/$c/exe" 2>/dev/null)" in */WebKit*) n=$((n + 1)) ;; esac
  done
  echo "$n"
}

# Latchkey ($1, its window up): closed to the tray, measured, reopened from the tray, timed.
tray_run() {
  local pid=$1 win at ms
  win=$(xdotool search --onlyvisible --name '^Latchkey$' | tail -1)
  /usr/bin/python3 "$root/tests/desktop/sni.py" close "$win"
  python3 "$root/tests/desktop/wait-mapped.py" "$(date +%s%N)" '^Latchkey$' gone >/dev/null
  for _ in $(seq 300); do [ "$(webkit_children "$pid")" = 0 ] && break; sleep 0.05; done
  sleep 3
  measure "$pid"
  tray_rss+=("$r_sum"); tray_pss+=("$p_sum"); tray_procs="${names[*]}"
  for _ in $(seq 100); do [ -s "$sni_dir/items" ] && break; sleep 0.05; done
  # The pollers first (their start takes longer than the window), then the click; times are
  # from the click (sni.py's `at`, just before it sends the menu event).
  t0=$(date +%s%N)
  python3 "$root/tests/desktop/wait-mapped.py" "$t0" '^Latchkey$' > "$out/reopen-mapped.txt" & wm=$!
  python3 "$root/tests/desktop/wait-paint.py" "$t0" > "$out/reopen-painted.txt" & wp=$!
  sleep 1
  at=$(/usr/bin/python3 "$root/tests/desktop/sni.py" click "$sni_dir" 'Open Latchkey' | python3 -c 'import json, sys; print(json.load(sys.stdin)["at"])')
  if ! wait "$wm"; then
    echo "the window never came back from the tray" >&2; import -window root "$out/never-reopened.png"; exit 1
  fi
  if ! wait "$wp"; then
    echo "the reopened window never painted" >&2; import -window root "$out/never-reopened.png"; exit 1
  fi
  reopen_mapped+=("$(( $(cat "$out/reopen-mapped.txt") - (at - t0) / 1000000 ))")
  reopen_painted+=("$(( $(cat "$out/reopen-painted.txt") - (at - t0) / 1000000 ))")
}

# One run of program $1 (bare or latchkey) with window title $2.
run() {
  local which=$1 title=$2 bin t0 pid ms
  local extra=()
  if [ "$which" = bare ]; then bin=$bare; else bin=$app; read -ra extra <<<"${BENCH_ENV:-}"; : > "$sni_dir/items"; fi
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
  measure "$pid"
  rss[$which]+="$r_sum "; pss[$which]+="$p_sum "; procs[$which]="${names[*]}"
  if [ "$which" = latchkey ]; then
    import -window root "$out/bench-20-accounts.png"
    tray_run "$pid"
  fi
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
  tr=$(median "${tray_rss[@]}"); tp=$(median "${tray_pss[@]}"); rm=$(median "${reopen_mapped[@]}")
  echo "memory, Latchkey in the tray, window closed (MB, per run): RSS ${tray_rss[*]}; PSS ${tray_pss[*]}; median RSS $tr, PSS $tp ($tray_procs, RSS/PSS)"
  echo "reopening from the tray, Latchkey (ms, click to mapped): ${reopen_mapped[*]} ; median $rm; to the painted accounts: ${reopen_painted[*]} ; median $(median "${reopen_painted[@]}")"
  awk -v lm="$lm" -v bm="$bm" -v lr="$lr" -v br="$br" -v lp="$lp" -v bp="$bp" 'BEGIN {
    printf "Latchkey / bare: memory RSS %.2f, PSS %.2f; cold start to a mapped window %.2f (targets <= 1.0)\n", lr / br, lp / bp, lm / bm }'
  awk -v tp="$tp" -v bp="$bp" -v tr="$tr" -v br="$br" -v rm="$rm" -v bm="$bm" 'BEGIN {
    printf "Latchkey in the tray / bare window: memory PSS %.2f, RSS %.2f (target PSS <= 0.2); reopening / bare cold start to a mapped window %.2f (target <= 1.0)\n", tp / bp, tr / br, rm / bm }'
} | tee "$out/desktop-bench.txt"
