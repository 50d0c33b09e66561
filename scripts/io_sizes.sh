#!/usr/bin/env bash
# Output sizes of fxchain against `vips copy` for the same pixels at matched settings: PNG at
# zlib level 6 (both defaults) and lossless WebP. Prints a Markdown table with the ratio
# fxchain / vips per image and format.
#
# Needs `vips` (Debian `libvips-tools`) and a built fxchain with its plugins
# (FXCHAIN=path/to/fxchain, PLUGINS=folder; default target/release, else target/debug).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${PLUGINS:-}"
if [ -z "$dir" ]; then
  if [ -x target/release/fxchain ]; then dir=target/release; else dir=target/debug; fi
fi
fx="${FXCHAIN:-$dir/fxchain}"
command -v vips >/dev/null || { echo "vips is missing (apt-get install libvips-tools)" >&2; exit 3; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The identity chain: the pixels go through decode, a no-op step and encode.
echo '(steps: [(effect: "color.brightness", params: {"amount": 1.0})])' > "$work/id.ron"
# Inputs: the bundled sample, a photo-like render of the demo chain, and a grey version of it.
cp examples/images/sample.png "$work/sample.png"
"$fx" -q --no-default-plugins --plugin-dir "$dir" run examples/chains/photo.ron \
  -i examples/images/sample.png -o "$work/photo.png"
"$fx" -q --no-default-plugins --plugin-dir "$dir" run examples/chains/demo.ron -o "$work/demo.png"
vips colourspace "$work/photo.png" "$work/grey.png" b-w
size() { stat -c %s "$1"; }
echo "| image | pixels | format | fxchain bytes | vips bytes | fxchain / vips |"
echo "|---|---|---|---|---|---|"
for img in sample photo demo grey; do
  in="$work/$img.png"
  px=$(vipsheader -f width "$in")x$(vipsheader -f height "$in")x$(vipsheader -f bands "$in")
  "$fx" -q --no-default-plugins --plugin-dir "$dir" run "$work/id.ron" -i "$in" -o "$work/$img.fx.png"
  vips copy "$in" "$work/$img.vips.png[compression=6]"
  "$fx" -q --no-default-plugins --plugin-dir "$dir" run "$work/id.ron" -i "$in" -o "$work/$img.fx.webp"
  vips copy "$in" "$work/$img.vips.webp[lossless]"
  for f in png webp; do
    a=$(size "$work/$img.fx.$f"); b=$(size "$work/$img.vips.$f")
    label=$f; [ "$f" = webp ] && label="webp lossless"
    echo "| $img | $px | $label | $a | $b | $(awk "BEGIN { printf \"%.3f\", $a / $b }") |"
  done
done
