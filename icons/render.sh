#!/usr/bin/env bash
# Renders the app icon (icons/latchkey.svg, hand-drawn) into the sizes Tauri bundles need.
# Needs rsvg-convert (librsvg2-bin) and ImageMagick's convert.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
for s in 32 64 128 256; do rsvg-convert -w $s -h $s latchkey.svg -o ${s}x${s}.png; done
rsvg-convert -w 256 -h 256 latchkey.svg -o 128x128@2x.png
rsvg-convert -w 512 -h 512 latchkey.svg -o icon.png
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
rsvg-convert -w 16 -h 16 latchkey.svg -o "$tmp/16.png"
rsvg-convert -w 48 -h 48 latchkey.svg -o "$tmp/48.png"
convert "$tmp/16.png" 32x32.png "$tmp/48.png" 64x64.png 256x256.png icon.ico
