#!/usr/bin/env bash
# Checks a built .deb the way the desktop uses it: its .desktop entry is valid, passes the URL
# (%u), claims x-scheme-handler/latchkey, and — resolved through xdg-mime and run by plain
# xdg-open (generic mode, no desktop environment) — launches the packaged binary with the URL.
set -euo pipefail
deb=$(readlink -f "$1")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp/root"
entry=$(ls "$tmp"/root/usr/share/applications/*.desktop)
echo "check-deb: $(basename "$deb") -> $(basename "$entry")"
cat "$entry"
desktop-file-validate "$entry"
grep -Eq '^Exec=latchkey-desktop %u$' "$entry"
grep -Eq '^MimeType=.*x-scheme-handler/latchkey;' "$entry"
test -x "$tmp/root/usr/bin/latchkey-desktop"
ls "$tmp"/root/usr/share/icons/hicolor/*/apps/ >/dev/null

# Resolve and launch through xdg-open with a stand-in binary named like the packaged one, so
# the check needs no display: it records the arguments it was started with.
mkdir -p "$tmp/bin" "$tmp/home" "$tmp/config" "$tmp/data/applications"
printf '#!/bin/sh\nprintf "%%s\\n" "$@" > "%s/launched"\n' "$tmp" > "$tmp/bin/latchkey-desktop"
chmod +x "$tmp/bin/latchkey-desktop"
cp "$entry" "$tmp/data/applications/"
env -i PATH="$tmp/bin:/usr/bin:/bin" HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/config" \
  XDG_DATA_HOME="$tmp/data" XDG_DATA_DIRS="$tmp/data:/usr/share" DISPLAY=:0 \
  sh -c 'xdg-mime default "$1" x-scheme-handler/latchkey && xdg-open "latchkey://callback?code=c&state=s"' _ "$(basename "$entry")"
for _ in $(seq 50); do [ -s "$tmp/launched" ] && break; sleep 0.1; done
got=$(cat "$tmp/launched" 2>/dev/null || true)
[ "$got" = "latchkey://callback?code=c&state=s" ] || { echo "check-deb: xdg-open launched with: '$got'" >&2; exit 1; }
echo "check-deb: ok (xdg-open hands the URL to latchkey-desktop)"
