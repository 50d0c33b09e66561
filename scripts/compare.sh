#!/usr/bin/env bash
# Compares fxchain with the reference libraries, in one run on this machine, as ratios.
#
#   bash scripts/compare.sh                        # sizes 1024 and 4096
#   QUICK=1 bash scripts/compare.sh                # fewer repetitions
#   SIZES=512,1024 bash scripts/compare.sh
#
# Everything it needs comes from this checkout and the package registries:
# benches/compare/setup.sh creates a Python venv under target/compare/venv (numpy, Pillow, OpenCV,
# pyvips with the pyvips-binary libvips 8.18), benches/compare/rust_refs (fast_image_resize,
# image) is built on first use, and benches/compare/refs.py times the Python references.
#
# Environment:
#   SIZES       square sizes, comma-separated (default 1024,4096)
#   QUICK       set: fewer repetitions
#   WORK        scratch folder (default target/compare)
#   SKIP_BUILD  set: do not build the release CLI and plugins first
#
# Prints a markdown table (also written to $WORK/report.md): one row per performance target with
# fxchain's ratio to the best reference of the same run, the CPU model and the SIMD level; then
# the end-to-end run at 4096² (PNG in and out, with the PNG codec alone) of scripts/stream_memory.sh
# and the fast variants' PSNRs beside an independent measurement.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
SIZES="${SIZES:-1024,4096}"
WORK="${WORK:-$ROOT/target/compare}"
FX="$ROOT/target/release/fxchain"
# As many timed runs as benches/compare/refs.py gives a reference at most (25, or 7 with QUICK):
# the medians then come from like numbers of runs, and a few slow runs on a busy machine do not
# move them.
ITER=25
if [ -n "${QUICK:-}" ]; then ITER=7; fi
export FXCHAIN_THREADS=2
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"

reference_venv "$WORK"
build_release
log "cargo build --release (benches/compare/rust_refs)"
cargo build --release -q --manifest-path benches/compare/rust_refs/Cargo.toml --target-dir "$WORK/rust_refs"

cpu=$(sed -n 's/^model name\s*:\s*//p' /proc/cpuinfo | head -1)
load=$(cut -d' ' -f1-3 /proc/loadavg)
printf '{"cpu": "%s", "cores": %s, "load": "%s"}\n' "$cpu" "$(nproc)" "$load" > "$WORK/machine.json"

# ---- references --------------------------------------------------------------------------------
REFS="$WORK/refs.jsonl"
log "Python references (OpenCV, Pillow, libvips) at $SIZES"
"$PY" benches/compare/refs.py --sizes "$SIZES" ${QUICK:+--quick} > "$REFS"
log "Rust references (fast_image_resize, image)"
"$WORK/rust_refs/release/rust_refs" --sizes "$SIZES" ${QUICK:+--quick} >> "$REFS"

# ---- fxchain -----------------------------------------------------------------------------------
JSONL="$WORK/fxchain.jsonl"
: > "$JSONL"
CHAINS="$WORK/chains"
mkdir -p "$CHAINS"
cp benches/chains/{gaussian_blur,unsharp,point5,resize_half,basic_chain,basic_chain_fast}.ron "$CHAINS/"
echo '(steps: [(effect: "blur.gaussian.fast", params: {"sigma": 3.0})])' > "$CHAINS/gaussian_blur_fast.ron"
echo '(steps: [(effect: "sharpen.unsharp.fast", params: {"sigma": 1.0, "amount": 0.3})])' > "$CHAINS/unsharp_fast.ron"
echo '(steps: [(effect: "geometry.resize.fast", params: {"scale": 0.5, "filter": "lanczos3"})])' > "$CHAINS/resize_half_fast.ron"
echo '(size: (1024, 1024), steps: [(effect: "noise.perlin", params: {"octaves": 4})])' > "$CHAINS/noise.perlin.ron"
for g in generate.sigil generate.enso generate.parchment; do
  echo "(size: (1024, 1024), steps: [(effect: \"$g\")])" > "$CHAINS/$g.ron"
done
bench() { # name, args…
  local name=$1; shift
  "$FX" -q bench "$CHAINS/$name.ron" "$@" --iterations "$ITER" --json | sed "s/^{/{\"name\": \"$name\", /" >> "$JSONL"
}
size_args=()
IFS=',' read -ra SZ <<< "$SIZES"
for s in "${SZ[@]}"; do size_args+=(--size "$s"); done
for name in gaussian_blur gaussian_blur_fast unsharp unsharp_fast resize_half resize_half_fast point5; do
  log "fxchain bench $name ($SIZES)"
  bench "$name" "${size_args[@]}"
done
for name in basic_chain basic_chain_fast; do
  log "fxchain bench $name, batch of 64 x 512²"
  bench "$name" --size 512 --batch 64
done
for g in noise.perlin generate.sigil generate.enso generate.parchment; do
  log "fxchain bench $g 1024²"
  bench "$g" --size 1024
done

# ---- end to end ---------------------------------------------------------------------------------
log "end to end, PNG in and out, 4096² (scripts/stream_memory.sh)"
SIZES=4096x4096 SKIP_BUILD=1 WORK="$WORK" THREADS=2 bash scripts/stream_memory.sh > "$WORK/e2e.md"

# ---- report ------------------------------------------------------------------------------------
{
  "$PY" benches/compare/report.py --refs "$REFS" --fxchain "$JSONL" --machine "$WORK/machine.json"
  echo
  echo "End to end, PNG file in and out, the basic chain, both sides streaming (peak RSS and wall time):"
  echo
  cat "$WORK/e2e.md"
  echo
  log "fast variants: plugins list against an independent PSNR"
  "$PY" benches/compare/variants_check.py "$FX" "$WORK/variants"
} | tee "$WORK/report.md"
