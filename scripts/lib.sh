# Shared by the measuring scripts: `source "$(dirname "$0")/lib.sh"` at the top of each.
# Sets ROOT (the checkout) and moves there; defines the helpers below.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { echo "== $*" >&2; }

# build_release: the release build of the CLI and every standard plugin (skipped when SKIP_BUILD
# is set).
build_release() {
  [ -n "${SKIP_BUILD:-}" ] && return 0
  local pkgs=(-p fxchain) f
  for f in $(grep -l '"cdylib"' plugins/*/Cargo.toml); do
    pkgs+=(-p "$(sed -n 's/^name = "\(.*\)"/\1/p' "$f" | head -1)")
  done
  log "cargo build --release (the CLI and the standard plugins)"
  cargo build --release -q "${pkgs[@]}"
}

# reference_venv WORK: the Python venv of the reference libraries (benches/compare/setup.sh) in
# WORK/venv; sets PY to its interpreter.
reference_venv() {
  log "setup (benches/compare/setup.sh)"
  VENV="$1/venv" bash "$ROOT/benches/compare/setup.sh" >&2
  PY="$1/venv/bin/python"
}

# make_pngs DIR N SIZE: N distinct noisy RGB PNGs of SIZE² (000.png, 001.png, …), written with
# the standard library only.
make_pngs() {
  python3 - "$@" <<'PY'
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
}

# secs COMMAND…: runs it and prints its wall time in seconds.
secs() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@"
  t1=$(date +%s.%N)
  python3 -c "print($t1 - $t0)"
}

# least A B: the smaller of two numbers (A may be empty).
least() { python3 -c "print(min(float('${1:-1e9}'), $2))"; }
