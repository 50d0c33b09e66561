#!/usr/bin/env bash
# Overhead of --isolate: the same batch (N images of SIZE², benches/chains/basic_chain.ron) in
# process and isolated, best of RUNS wall times each, reported as a ratio. Uses the release build
# (`cargo build --release --workspace` first). Decode and encode are part of both runs, so the
# ratio is the overhead a batch user sees (worker start-up included, once per --jobs worker).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-16}" SIZE="${SIZE:-1024}" RUNS="${RUNS:-3}"
bin=target/release/fxchain
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - "$work/in" "$N" "$SIZE" <<'PY'
import os, struct, sys, zlib, random
out, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out, exist_ok=True)
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
for i in range(n):
    rnd = random.Random(i)
    row = bytes(rnd.getrandbits(8) for _ in range(size * 3))
    raw = b"".join(b"\0" + row[(y * 7) % (size * 3):] + row[:(y * 7) % (size * 3)] for y in range(size))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b"")
    open(os.path.join(out, f"{i:03}.png"), "wb").write(png)
PY
best() { # chain, extra flags...
  local chain="$1"; shift
  local b=""
  for r in $(seq "$RUNS"); do
    rm -rf "$work/out"
    local t0 t1
    t0=$(date +%s.%N)
    "$bin" --plugin-dir target/release -q "$@" batch "$chain" --input-dir "$work/in" --output-dir "$work/out"
    t1=$(date +%s.%N)
    b=$(python3 -c "print(min(float('${b:-1e9}'), $t1 - $t0))")
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
