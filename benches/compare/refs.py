#!/usr/bin/env python3
"""Reference timings for the comparison harness: OpenCV, Pillow and libvips (pyvips).

Each operation runs on an RGBA8 image already in the library's in-memory form (decode and
encode excluded) and its result is forced into memory (libvips is lazy: each call ends with
`write_to_memory`, and libvips' operation cache is off). OpenCV and libvips use THREADS threads;
Pillow has no threads inside one operation. The median of the repetitions is reported.

Usage: refs.py --sizes 1024,4096 [--quick] > refs.jsonl
Writes one JSON object per line: {"lib", "op", "size", "threads", "median_ms", "min_ms", "runs"}
and, for batches, {"lib", "op", "size", "batch", "workers", "images_per_second"}.
"""
import argparse
import json
import os
import statistics
import sys
import time

THREADS = int(os.environ.get("FXCHAIN_THREADS", "2"))
os.environ.setdefault("VIPS_CONCURRENCY", str(THREADS))

import numpy as np  # noqa: E402
import cv2  # noqa: E402
import pyvips  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

cv2.setNumThreads(THREADS)
pyvips.cache_set_max(0)
pyvips.cache_set_max_mem(0)

# The workloads of benches/chains/*.ron.
SIGMA = 3.0
USM_SIGMA, USM_AMOUNT = 1.0, 0.3
LUT = np.clip(np.round((np.arange(256) * 1.1 - 128.0) * 1.2 + 128.0), 0, 255).astype(np.uint8)
LUT4 = np.stack([LUT, LUT, LUT, np.arange(256, dtype=np.uint8)], axis=1).reshape(1, 256, 4)


def photo_like(size, seed=1):
    """A deterministic opaque RGBA image with smooth areas, edges and noise (timing input)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    r = 128 + 100 * np.sin(6 * x + 3 * y)
    g = 128 + 90 * np.cos(5 * y - 2 * x * x)
    b = np.where((x - 0.5) ** 2 + (y - 0.5) ** 2 < 0.1, 220.0, 40.0)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 12, (size, size, 3))
    rgba = np.empty((size, size, 4), np.uint8)
    rgba[..., :3] = np.clip(img, 0, 255)
    rgba[..., 3] = 255
    return rgba


def timed(fn, x, quick):
    fn(x)
    t0 = time.perf_counter()
    fn(x)
    first = time.perf_counter() - t0
    budget = 0.3 if quick else 1.2
    runs = max(3, min(25 if not quick else 7, int(budget / max(first, 1e-6))))
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(x)
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts), min(ts), runs


def vips_image(a):
    h, w, c = a.shape
    return pyvips.Image.new_from_memory(a.tobytes(), w, h, c, "uchar")


def vips_done(im):
    return im.write_to_memory()


def ops():
    """{(lib, op): (to_native, fn)}"""
    cv_usm = lambda a: cv2.addWeighted(a, 1 + USM_AMOUNT, cv2.GaussianBlur(a, (0, 0), USM_SIGMA), -USM_AMOUNT, 0)
    cv_half = lambda a, interp: cv2.resize(a, (a.shape[1] // 2, a.shape[0] // 2), interpolation=interp)
    ident = lambda a: a
    pil = lambda a: Image.fromarray(a, "RGBA")

    def vips_usm(im):
        blur = im.gaussblur(USM_SIGMA)
        return vips_done((im * (1 + USM_AMOUNT) - blur * USM_AMOUNT).cast("uchar"))

    floor_dst = {}

    def copy_floor(a):
        d = floor_dst.setdefault(a.shape, np.empty_like(a))
        np.copyto(d, a)
        return d

    return {
        ("opencv", "gaussian_blur"): (ident, lambda a: cv2.GaussianBlur(a, (0, 0), SIGMA)),
        ("libvips", "gaussian_blur"): (vips_image, lambda im: vips_done(im.gaussblur(SIGMA))),
        ("opencv", "unsharp"): (ident, cv_usm),
        ("libvips", "unsharp"): (vips_image, vips_usm),
        ("pillow", "unsharp"): (pil, lambda im: im.filter(ImageFilter.UnsharpMask(USM_SIGMA, int(USM_AMOUNT * 100), 0))),
        ("libvips", "resize_half"): (vips_image, lambda im: vips_done(im.resize(0.5, kernel="lanczos3"))),
        ("pillow", "resize_half"): (pil, lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)),
        ("opencv-lanczos4", "resize_half"): (ident, lambda a: cv_half(a, cv2.INTER_LANCZOS4)),
        ("opencv", "lut"): (ident, lambda a: cv2.LUT(a, LUT4)),
        ("numpy", "memory_floor"): (ident, copy_floor),
    }


def batch_chain(interp, images):
    """resize ½ → brightness/contrast LUT → unsharp, as in benches/chains/basic_chain.ron."""
    for a in images:
        s = cv2.resize(a, (a.shape[1] // 2, a.shape[0] // 2), interpolation=interp)
        s = cv2.LUT(s, LUT4)
        cv2.addWeighted(s, 1 + USM_AMOUNT, cv2.GaussianBlur(s, (0, 0), USM_SIGMA), -USM_AMOUNT, 0)


def batch(interp, n=64, size=512, workers=THREADS, rounds=3):
    """Images per second over `n` images, `workers` threads of one image each (OpenCV releases
    the GIL inside its calls), OpenCV's own threads off."""
    from concurrent.futures import ThreadPoolExecutor

    cv2.setNumThreads(1)
    images = [photo_like(size, seed=i) for i in range(n)]
    parts = [images[i::workers] for i in range(workers)]
    best = []
    with ThreadPoolExecutor(workers) as pool:
        for _ in range(rounds):
            t0 = time.perf_counter()
            list(pool.map(lambda p: batch_chain(interp, p), parts))
            best.append(n / (time.perf_counter() - t0))
    cv2.setNumThreads(THREADS)
    return statistics.median(best)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1024,4096")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    table = ops()
    for size in sizes:
        src = photo_like(size)
        for (lib, op), (native, fn) in table.items():
            x = native(src)
            med, mn, runs = timed(fn, x, a.quick)
            threads = 1 if lib in ("pillow", "numpy") else THREADS
            print(json.dumps({"lib": lib, "op": op, "size": size, "threads": threads,
                              "median_ms": med, "min_ms": mn, "runs": runs}), flush=True)
    for name, interp in (("opencv-lanczos4", cv2.INTER_LANCZOS4), ("opencv-area", cv2.INTER_AREA)):
        ips = batch(interp, rounds=2 if a.quick else 5)
        print(json.dumps({"lib": name, "op": "batch_basic_chain", "size": 512, "batch": 64,
                          "workers": THREADS, "images_per_second": ips}), flush=True)
    versions = {"opencv": cv2.__version__, "libvips": "%d.%d.%d" % tuple(pyvips.version(i) for i in range(3)),
                "pillow": Image.__version__, "numpy": np.__version__}
    print(json.dumps({"versions": versions}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
