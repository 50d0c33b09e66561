#!/usr/bin/env bash
# Compares fxchain with the reference libraries, in one run on this machine, as ratios.
#
#   bash scripts/compare.sh                       # full run (reference anchors take 6-15 min)
#   QUICK=1 SIZES=1024,4096 bash scripts/compare.sh   # fewer repetitions, fewer sizes
#   REF_RESULTS=../shared/bench/reference-results bash scripts/compare.sh   # reuse reference CSVs
#
# Environment:
#   BENCH_DIR    the reference anchors (default: ../shared/bench beside this repository); read only,
#                they run from a copy under $WORK
#   SIZES        square sizes, comma-separated (default 512,1024,2048,4096); passed to the anchors
#   QUICK        set: fewer repetitions in the anchors and in `fxchain bench`
#   REF_RESULTS  a folder of anchor CSVs to use instead of running the anchors
#   WORK         scratch folder (default target/compare)
#   SKIP_BUILD   set: do not run `cargo build --release --workspace` first
#   SKIP_CACHE   set: skip the result-cache measurement (`cargo bench --bench pool_cache`)
#
# Prints a markdown table: one row per performance target with fxchain's ratio to the best
# reference in the same run (time ratio: lower is better; images/s ratio for batches: higher is
# better) and whether the target is met. Raw figures are left in $WORK.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
BENCH_DIR="$(cd "${BENCH_DIR:-$ROOT/../shared/bench}" && pwd)"
SIZES="${SIZES:-512,1024,2048,4096}"
WORK="${WORK:-$ROOT/target/compare}"
PY="${PYTHON:-python3}"
FX="$ROOT/target/release/fxchain"
ITER=10
if [ -n "${QUICK:-}" ]; then ITER=3; fi
export FXCHAIN_THREADS=2
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"

log() { echo "== $*" >&2; }

if [ -z "${SKIP_BUILD:-}" ]; then
  log "cargo build --release --workspace"
  cargo build --release --workspace -q
fi

# ---- reference anchors -------------------------------------------------------------------------
# They write inputs/, results and a cargo target next to their scripts, so they run from a copy:
# symlinks to the scripts and the second Python environment, a copy of the Rust anchors' sources.
ANCHORS="$WORK/anchors"
mkdir -p "$ANCHORS"
for f in run_all.sh make_inputs.py physical_limit.py py_anchors.py summarize.py; do
  ln -sf "$BENCH_DIR/$f" "$ANCHORS/$f"
done
if [ -d "$BENCH_DIR/.venv-vipsbin" ]; then ln -sfn "$BENCH_DIR/.venv-vipsbin" "$ANCHORS/.venv-vipsbin"; fi
mkdir -p "$ANCHORS/rust_anchors"
cp -r "$BENCH_DIR/rust_anchors/Cargo.toml" "$BENCH_DIR/rust_anchors/Cargo.lock" "$BENCH_DIR/rust_anchors/src" "$ANCHORS/rust_anchors/"
chmod -R u+w "$ANCHORS/rust_anchors"
# The copy may sit inside this workspace (target/compare): keep it a workspace of its own.
grep -q '^\[workspace\]' "$ANCHORS/rust_anchors/Cargo.toml" || printf '\n[workspace]\n' >> "$ANCHORS/rust_anchors/Cargo.toml"

if [ -n "${REF_RESULTS:-}" ]; then
  REF="$(cd "$REF_RESULTS" && pwd)"
  log "reference results: $REF (not re-run)"
  # Inputs for the memory measurements.
  (cd "$ANCHORS" && $PY make_inputs.py inputs --sizes 4096 >&2)
else
  REF="$WORK/ref"
  log "reference anchors (SIZES=$SIZES${QUICK:+, QUICK}) -> $REF"
  OUT="$REF" SIZES="$SIZES" QUICK="${QUICK:-}" bash "$ANCHORS/run_all.sh" >&2
  if [[ ",$SIZES," != *",4096,"* ]]; then (cd "$ANCHORS" && $PY make_inputs.py inputs --sizes 4096 >&2); fi
fi
INPUTS="$ANCHORS/inputs"

# ---- fxchain -----------------------------------------------------------------------------------
JSONL="$WORK/fxchain.jsonl"
: > "$JSONL"
size_args=()
IFS=',' read -ra SZ <<< "$SIZES"
for s in "${SZ[@]}"; do size_args+=(--size "$s"); done
for name in gaussian_blur unsharp point5 resize_half basic_chain basic_chain_fast; do
  log "fxchain bench $name (${SIZES})"
  "$FX" -q bench "benches/chains/$name.ron" "${size_args[@]}" --iterations "$ITER" --json >> "$JSONL"
done
for name in basic_chain basic_chain_fast; do
  log "fxchain bench $name, batch of 64 x 512²"
  "$FX" -q bench "benches/chains/$name.ron" --size 512 --batch 64 --iterations "$ITER" --json >> "$JSONL"
done

# Generators at 1024², one step each.
GEN="$WORK/generators"
mkdir -p "$GEN"
echo '(size: (1024, 1024), steps: [(effect: "noise.perlin", params: {"octaves": 4})])' > "$GEN/noise.perlin.ron"
for g in generate.sigil generate.enso generate.parchment; do
  echo "(size: (1024, 1024), steps: [(effect: \"$g\")])" > "$GEN/$g.ron"
done
for f in "$GEN"/*.ron; do
  log "fxchain bench $(basename "$f" .ron) 1024²"
  "$FX" -q bench "$f" --size 1024 --iterations "$ITER" --json >> "$JSONL"
done

# Peak memory: the basic chain on a 4096² PNG (decode, render, encode), and a batch of 64 × 512².
EXTRA="$WORK/extra.json"
rss() { /usr/bin/time -v "$@" 2> "$WORK/time.txt" > /dev/null; sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/time.txt"; }
log "peak RSS: fxchain run basic_chain on input_4096.png"
rss_run=$(rss "$FX" -q run benches/chains/basic_chain.ron -i "$INPUTS/input_4096.png" -o "$WORK/basic_chain_4096.png")
log "peak RSS: fxchain batch basic_chain over 64 x 512²"
rm -rf "$WORK/batch_out"
rss_batch=$(rss "$FX" -q batch benches/chains/basic_chain.ron --input-dir "$INPUTS/batch512" --output-dir "$WORK/batch_out")

cache_ratio=null
if [ -z "${SKIP_CACHE:-}" ]; then
  log "cargo bench --bench pool_cache"
  line=$(cargo bench -q --bench pool_cache 2>/dev/null | grep '^pool_cache:' || true)
  echo "$line" >&2
  cache_ratio=$(echo "$line" | sed -n 's/.*re-run \([0-9.]*\)x faster.*/\1/p')
  cache_ratio=${cache_ratio:-null}
fi
cat > "$EXTRA" <<EOF
{"rss_run_kb": ${rss_run:-null}, "rss_batch_kb": ${rss_batch:-null}, "cache_ratio": $cache_ratio}
EOF

# ---- report ------------------------------------------------------------------------------------
$PY "$ROOT/scripts/compare_report.py" --ref "$REF" --fxchain "$JSONL" --extra "$EXTRA" | tee "$WORK/report.md"
