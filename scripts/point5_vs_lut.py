#!/usr/bin/env python3
"""Five point steps at 4096² against one OpenCV LUT pass, measured in the same run.

    python3 -m venv .venv-bench && .venv-bench/bin/pip install opencv-python-headless numpy
    cargo build --release --workspace
    .venv-bench/bin/python scripts/point5_vs_lut.py [--size 4096] [--iterations 15]

Both sides use 2 threads. fxchain renders benches/chains/point5.ron (`fxchain bench`, decode and
encode excluded: the composed pass reads the input frame and writes a new one); OpenCV applies one
256-entry table to every channel of the same number of RGBA pixels into a new array. The memory
floor is one NumPy copy of the frame (read + write of the same bytes). The three are measured
in alternating rounds (so a busy machine slows all of them alike) and the script prints each
round's ratio and the median over rounds.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def median_ms(f, n):
    f()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--iterations", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--fxchain", default=str(ROOT / "target/release/fxchain"))
    a = ap.parse_args()
    cv2.setNumThreads(2)
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, size=(a.size, a.size, 4), dtype=np.uint8)
    lut = np.clip(np.arange(256) * 1.1, 0, 255).astype(np.uint8)
    out = np.empty_like(img)
    env = dict(os.environ, FXCHAIN_THREADS="2")
    cmd = [a.fxchain, "-q", "bench", str(ROOT / "benches/chains/point5.ron"), "--size", str(a.size),
           "--iterations", str(a.iterations), "--json"]
    rounds = []
    for _ in range(a.rounds):
        lut_ms = median_ms(lambda: cv2.LUT(img, lut, dst=out), a.iterations)
        copy_ms = median_ms(lambda: np.copyto(out, img), a.iterations)
        r = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
        fx_ms = json.loads(r.stdout.strip().splitlines()[-1])["median_ms"]
        rounds.append((fx_ms, lut_ms, copy_ms))
    print(f"cpu: {cpu()}")
    print(f"size {a.size}x{a.size} RGBA8, 2 threads, {a.rounds} rounds of {a.iterations} runs (medians)")
    print("round  fxchain ms  LUT ms  copy ms  vs LUT  vs floor")
    for i, (fx_ms, lut_ms, copy_ms) in enumerate(rounds):
        print(f"{i + 1:5}  {fx_ms:10.2f}  {lut_ms:6.2f}  {copy_ms:7.2f}  {fx_ms / lut_ms:6.2f}  {fx_ms / copy_ms:8.2f}")
    vs_lut = statistics.median(f / l for f, l, _ in rounds)
    vs_floor = statistics.median(f / c for f, _, c in rounds)
    print(f"median ratio to one OpenCV LUT pass: {vs_lut:.2f} (target <= 1.0)")
    print(f"median ratio to the memory floor:    {vs_floor:.2f}")


def cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
