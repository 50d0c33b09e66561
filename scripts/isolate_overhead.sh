#!/usr/bin/env bash
# Overhead of --isolate: the same batch (N images of SIZE², benches/chains/basic_chain.ron) in
# process and isolated, best of RUNS wall times each, reported as a ratio. Uses the release build
# (`cargo build --release --workspace` first). Decode and encode are part of both runs, so the
# ratio is the overhead a batch user sees (worker start-up included, once per --jobs worker).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
N="${N:-16}" SIZE="${SIZE:-1024}" RUNS="${RUNS:-3}"
bin=target/release/fxchain
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
make_pngs "$work/in" "$N" "$SIZE"
best() { # chain, extra flags...
  local chain="$1"; shift
  local b=""
  for r in $(seq "$RUNS"); do
    rm -rf "$work/out"
    b=$(least "$b" "$(secs "$bin" --plugin-dir target/release -q "$@" batch "$chain" --input-dir "$work/in" --output-dir "$work/out")")
  done
  echo "$b"
}
inproc=$(best benches/chains/basic_chain.ron)
isolated=$(best benches/chains/basic_chain.ron --isolate)
python3 - "$inproc" "$isolated" "$N" "$SIZE" <<'PY'
import sys
a, b, n, size = map(float, sys.argv[1:])
print(f"batch of {int(n)} images {int(size)}², basic_chain.ron: in-process {a:.2f} s, --isolate {b:.2f} s, "
      f"ratio {b / a:.3f} (overhead {100 * (b / a - 1):.1f} %)")
PY
