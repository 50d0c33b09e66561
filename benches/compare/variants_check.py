#!/usr/bin/env python3
"""Checks the fast-variant PSNRs `fxchain plugins list` reports against an independent measurement.

The photo the host measures on (host/assets/astronaut.jpg, 512×512) is decoded here with Pillow,
written as PNG, and each variant and its reference are run on it with `fxchain run` at default
parameters; the PSNR over R, G and B is computed with NumPy and set beside the listed figure.

Usage: variants_check.py FXCHAIN WORKDIR   (prints markdown table rows)
"""
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def psnr_rgb(a, b):
    mse = ((a[..., :3].astype(np.float64) - b[..., :3].astype(np.float64)) ** 2).mean()
    return float("inf") if mse == 0 else 10 * np.log10(255 * 255 / mse)


def main():
    fx, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    photo = os.path.join(work, "astronaut.png")
    Image.open(os.path.join(ROOT, "host/assets/astronaut.jpg")).convert("RGBA").save(photo)
    listed = json.loads(subprocess.run([fx, "-q", "plugins", "list", "--json", "--probe-size", "512"],
                                       check=True, capture_output=True, text=True).stdout)
    # A typed document ({"effects": [...]}) or, from older builds, the bare list.
    listed = listed["effects"] if isinstance(listed, dict) else listed
    print("| variant | reference | listed speed-up | listed PSNR (RGB) | independent PSNR (RGB) | difference |")
    print("|---|---|---|---|---|---|")
    for e in listed:
        m = e.get("measured")
        if not m or "psnr_db" not in m or e.get("kind") != "filter":
            continue
        outs = []
        for eff in (e["variant_of"], e["id"]):
            chain = os.path.join(work, f"{eff}.ron")
            with open(chain, "w") as f:
                f.write(f'(steps: [(effect: "{eff}")])\n')
            out = os.path.join(work, f"{eff}.png")
            subprocess.run([fx, "-q", "run", chain, "-i", photo, "-o", out], check=True)
            outs.append(np.asarray(Image.open(out).convert("RGBA")))
        mine = psnr_rgb(outs[0], outs[1])
        theirs = float("inf") if m["psnr_db"] == "inf" else float(m["psnr_db"])
        diff = abs(mine - theirs) if np.isfinite(mine) and np.isfinite(theirs) else 0.0
        print(f"| {e['id']} | {e['variant_of']} | {m['speedup']:.2f}× | {theirs:.1f} dB | {mine:.1f} dB | {diff:.2f} dB |")


if __name__ == "__main__":
    sys.exit(main())
