#!/usr/bin/env bash
# Speed-up of the disk cache: a batch of N images of SIZE² through a six-step chain, then the same
# batch with only the last step changed, run again in a new process (a) with the same --cache-dir
# and (b) without any cache. Prints the wall times (best of RUNS, decode and encode included) and
# the ratio (b)/(a). BIN defaults to the release build (`cargo build --release --workspace`
# first); BIN=target/debug/fxchain PLUGINS=target/debug measures the debug build.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
N="${N:-16}" SIZE="${SIZE:-1024}" RUNS="${RUNS:-3}" JOBS="${JOBS:-2}"
bin="${BIN:-target/release/fxchain}" plugins="${PLUGINS:-target/release}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
make_pngs "$work/in" "$N" "$SIZE"
chain() { # last sigma
  cat <<RON
(steps: [
    (effect: "blur.gaussian", params: {"sigma": 2.0}),
    (effect: "blur.median", params: {"radius": 2}),
    (effect: "color.contrast", params: {"amount": 1.2}),
    (effect: "sharpen.unsharp", params: {"sigma": 1.5, "amount": 0.8}),
    (effect: "edges.emboss", params: {"angle": 30.0, "strength": 2.0}),
    (effect: "blur.gaussian", params: {"sigma": $1}),
])
RON
}
chain 1.0 > "$work/a.ron"
chain 3.0 > "$work/b.ron"
fx() { "$bin" --no-default-plugins --plugin-dir "$plugins" -q "$@"; }
cached="" plain=""
for r in $(seq "$RUNS"); do
  rm -rf "$work/cache" "$work/out-a" "$work/out-b" "$work/out-p"
  # Fills the folder (not timed), then the re-run with the last step changed.
  fx batch "$work/a.ron" --input-dir "$work/in" --output-dir "$work/out-a" --jobs "$JOBS" --cache-dir "$work/cache" --cache-budget 4G
  t=$(secs fx batch "$work/b.ron" --input-dir "$work/in" --output-dir "$work/out-b" --jobs "$JOBS" --cache-dir "$work/cache" --cache-budget 4G)
  cached=$(least "$cached" "$t")
  t=$(secs fx batch "$work/b.ron" --input-dir "$work/in" --output-dir "$work/out-p" --jobs "$JOBS")
  plain=$(least "$plain" "$t")
  for f in "$work"/out-p/*.png; do cmp -s "$f" "$work/out-b/$(basename "$f")" || { echo "outputs differ: $f" >&2; exit 1; }; done
done
python3 - "$plain" "$cached" "$N" "$SIZE" "$(du -sb "$work/cache" | cut -f1)" <<'PY'
import sys
plain, cached, n, size, folder = map(float, sys.argv[1:])
print(f"batch of {int(n)} x {int(size)}^2, last of 6 steps changed: "
      f"without cache {plain:.2f} s, re-run with --cache-dir {cached:.2f} s, "
      f"speed-up {plain / cached:.2f}x (cache folder {folder / 2**20:.0f} MiB)")
PY
