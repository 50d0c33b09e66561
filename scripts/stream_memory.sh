#!/usr/bin/env bash
# Peak memory and wall time of a whole-file run, fxchain streaming against libvips 8.18 streaming,
# in one run on this machine: PNG in, the basic chain (resize ½ Lanczos3 → brightness ×1.1 →
# contrast ×1.2 → unsharp σ 1 ×0.3), PNG out at the same zlib level (6) on both sides.
#
#   bash scripts/stream_memory.sh                 # 4096², 20000² and 100000×1000
#   SIZES=4096x4096 bash scripts/stream_memory.sh # one size
#
# Everything comes from this checkout and the package registries: benches/compare/setup.sh makes
# the Python venv with pyvips-binary (libvips 8.18); the inputs are made by fxchain itself from
# host/assets/astronaut.jpg (a photo, so that PNG sizes and compression times are realistic).
# Peak RSS is `/usr/bin/time`'s maximum resident set size of the whole process (the libvips
# figure includes the Python interpreter, about 10 MB of it). Prints a markdown table; also
# written to $WORK/stream_memory.md.
#
# Environment: SIZES (WxH, comma-separated), WORK (default target/compare), SKIP_BUILD,
# THREADS (default 2).
set -euo pipefail

source "$(dirname "$0")/lib.sh"
SIZES="${SIZES:-4096x4096,20000x20000,100000x1000}"
WORK="${WORK:-$ROOT/target/compare}"
THREADS="${THREADS:-2}"
FX="$ROOT/target/release/fxchain"
mkdir -p "$WORK/stream"
WORK="$(cd "$WORK" && pwd)"
OUT="$WORK/stream"

if ! command -v /usr/bin/time >/dev/null 2>&1 || [ ! -x /usr/bin/time ]; then
  as_root=""
  if [ "$(id -u)" -ne 0 ]; then as_root="sudo"; fi
  $as_root apt-get update -qq && $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time
fi
reference_venv "$WORK"
build_release
export FXCHAIN_THREADS="$THREADS"
FXP=("$FX" -q --no-default-plugins --plugin-dir "$ROOT/target/release")

cat > "$OUT/vips_chain.py" <<'EOF'
# The basic chain in libvips, streaming (sequential access): what benches/compare/refs.py times
# in memory, here from file to file.
import sys
import pyvips

src, dst = sys.argv[1], sys.argv[2]
pyvips.cache_set_max(0)
im = pyvips.Image.new_from_file(src, access="sequential")
im = im.resize(0.5, kernel="lanczos3")
rgb, alpha = (im[0:3], im[3:4]) if im.bands == 4 else (im, None)
rgb = rgb.linear([1.1 * 1.2] * 3, [-128.0 * 1.2 + 128.0] * 3)
blur = rgb.gaussblur(1.0, precision="float")
rgb = (rgb * 1.3 - blur * 0.3).cast("uchar")
if alpha is not None:
    rgb = rgb.bandjoin(alpha)
rgb.pngsave(dst, compression=6)
print(pyvips.version(0), pyvips.version(1), pyvips.version(2), file=sys.stderr)
EOF

# The PNG codec alone, file to file: decode, one cheap step (invert) and encode at zlib level 6.
# fxchain's time is the whole process (plugin loading included); the references time themselves
# after the interpreter has started and imported the library.
cat > "$OUT/vips_codec.py" <<'EOF'
import sys
import time
import pyvips

t0 = time.perf_counter()
pyvips.cache_set_max(0)
im = pyvips.Image.new_from_file(sys.argv[1], access="sequential")
im.invert().pngsave(sys.argv[2], compression=6)
print(f"{time.perf_counter() - t0:.3f}", file=sys.stderr)
EOF
cat > "$OUT/cv_codec.py" <<'EOF'
import sys
import time
import cv2

t0 = time.perf_counter()
cv2.setNumThreads(int(sys.argv[3]))
im = cv2.imread(sys.argv[1], cv2.IMREAD_UNCHANGED)
cv2.imwrite(sys.argv[2], cv2.bitwise_not(im), [cv2.IMWRITE_PNG_COMPRESSION, 6])
print(f"{time.perf_counter() - t0:.3f}", file=sys.stderr)
EOF
echo '(steps: [(effect: "color.invert")])' > "$OUT/codec.ron"

measure() { # label, command... → "rss_kib seconds"
  local label="$1"
  shift
  /usr/bin/time -f "%M %e" -o "$OUT/$label.time" "$@" > /dev/null 2> "$OUT/$label.err" || {
    echo "== $label failed:" >&2
    cat "$OUT/$label.err" >&2
    return 1
  }
  cat "$OUT/$label.time"
}

table="| image | fxchain peak RSS | libvips 8.18 peak RSS | RSS ratio | fxchain wall | libvips wall | time ratio |
|---|---|---|---|---|---|---|"
codecs="| image | fxchain | libvips 8.18 | OpenCV | time ratio (best reference) |
|---|---|---|---|---|"
IFS=',' read -ra sizes <<< "$SIZES"
for s in "${sizes[@]}"; do
  w="${s%x*}"
  h="${s#*x}"
  in="$OUT/in_$s.png"
  if [ ! -s "$in" ]; then
    if [ "$w" -le 65536 ] && [ "$h" -le 65536 ]; then
      log "making $in (fxchain, from the sample photo)"
      "${FXP[@]}" apply geometry.resize "width=$w" "height=$h" filter=\"bicubic\" \
        -i host/assets/astronaut.jpg -o "$in" --no-provenance --png-compression 1
    else
      # Wider than resize's range: fractal noise from a generator chain (streamed too).
      log "making $in (fxchain, noise.perlin)"
      printf '(size: (%s, %s), steps: [(effect: "noise.perlin")])\n' "$w" "$h" > "$OUT/gen_$s.ron"
      "${FXP[@]}" run "$OUT/gen_$s.ron" -o "$in" --no-provenance --png-compression 1
    fi
  fi
  log "$s: fxchain run"
  read -r fx_rss fx_t < <(measure "fx_$s" "${FXP[@]}" run benches/chains/basic_chain.ron -i "$in" -o "$OUT/fx_$s.png")
  log "$s: libvips"
  read -r vi_rss vi_t < <(measure "vips_$s" env VIPS_CONCURRENCY="$THREADS" "$PY" "$OUT/vips_chain.py" "$in" "$OUT/vips_$s.png")
  row=$(awk -v s="$s" -v a="$fx_rss" -v b="$vi_rss" -v c="$fx_t" -v d="$vi_t" 'BEGIN {
    printf "| %s | %.1f MB | %.1f MB | %.2f | %.2f s | %.2f s | %.2f |", s, a / 1024, b / 1024, a / b, c, d, (d > 0 ? c / d : 0) }')
  table="$table
$row"
  log "$s: PNG codec alone (decode, invert, encode): fxchain, libvips, OpenCV"
  read -r _ fc_t < <(measure "fxcodec_$s" "${FXP[@]}" run "$OUT/codec.ron" -i "$in" -o "$OUT/fxcodec_$s.png" --no-provenance)
  measure "vipscodec_$s" env VIPS_CONCURRENCY="$THREADS" "$PY" "$OUT/vips_codec.py" "$in" "$OUT/vipscodec_$s.png" > /dev/null
  measure "cvcodec_$s" "$PY" "$OUT/cv_codec.py" "$in" "$OUT/cvcodec_$s.png" "$THREADS" > /dev/null
  vc_t=$(tail -1 "$OUT/vipscodec_$s.err") cc_t=$(tail -1 "$OUT/cvcodec_$s.err")
  codec=$(awk -v s="$s" -v a="$fc_t" -v b="$vc_t" -v c="$cc_t" -v fa="$(stat -c %s "$OUT/fxcodec_$s.png")" \
    -v fb="$(stat -c %s "$OUT/vipscodec_$s.png")" -v fc="$(stat -c %s "$OUT/cvcodec_$s.png")" 'BEGIN {
    m = (b < c ? b : c); printf "| %s | %.2f s (%.1f MB) | %.2f s (%.1f MB) | %.2f s (%.1f MB) | %.2f |", s, a, fa / 1e6, b, fb / 1e6, c, fc / 1e6, (m > 0 ? a / m : 0) }')
  codecs="$codecs
$codec"
done
{
  echo "CPU: $(sed -n 's/^model name\s*:\s*//p' /proc/cpuinfo | head -1), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $THREADS threads each; $(head -1 "$OUT/vips_${sizes[0]}.err" | sed 's/ /./g' | sed 's/^/libvips /')"
  echo
  echo "$table"
  echo
  echo "PNG codec alone, file to file (decode, invert, encode at zlib level 6; time and output size; fxchain's"
  echo "time is its whole process, the references' is timed in Python after start-up and import):"
  echo
  echo "$codecs"
} | tee "$WORK/stream_memory.md"
