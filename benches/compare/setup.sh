#!/usr/bin/env bash
# Installs the reference libraries of the comparison harness into target/compare/venv.
# Idempotent: re-running is a no-op once the pinned versions are present.
#
#   bash benches/compare/setup.sh
#
# - PyPI (into a venv under target/, nothing system-wide): numpy, Pillow, opencv-python-headless,
#   pyvips and pyvips-binary (a wheel bundling libvips 8.18 with its run-time SIMD dispatch, so no
#   system libvips is needed).
# - Debian libvips (libvips-tools) is not needed; if `vips` is installed it is reported, not used.
# - The Rust references (image, fast_image_resize) are built by compare.sh from
#   benches/compare/rust_refs (crates.io) on first use.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${VENV:-$ROOT/target/compare/venv}"
PY="${PYTHON:-python3}"
PIP_PKGS=(
  "numpy==2.4.6"
  "Pillow==13.0.0"
  "opencv-python-headless==5.0.0.93"
  "pyvips==3.2.0"
  "pyvips-binary==8.18.7"
)
if ! "$VENV/bin/python" -c "import numpy, PIL, cv2, pyvips, sys; sys.exit(0 if pyvips.version(1) == 18 else 1)" 2>/dev/null; then
  echo "[setup] creating $VENV" >&2
  mkdir -p "$(dirname "$VENV")"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PIP_PKGS[@]}"
fi
"$VENV/bin/python" - <<'PYEOF'
import numpy, PIL, cv2, pyvips
print("[setup] numpy", numpy.__version__, "| Pillow", PIL.__version__, "| opencv", cv2.__version__,
      "| pyvips", pyvips.__version__, "| libvips", "%d.%d.%d" % tuple(pyvips.version(i) for i in range(3)))
PYEOF
