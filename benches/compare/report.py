#!/usr/bin/env python3
"""The ratio table of scripts/compare.sh: fxchain against the references of the same run.

Usage: report.py --refs REFS.jsonl --fxchain FXCHAIN.jsonl [--machine MACHINE.json]

REFS.jsonl holds the lines of benches/compare/refs.py and of the Rust references;
FXCHAIN.jsonl the lines of `fxchain bench --json` (each tagged with "name" by compare.sh).
A time ratio is fxchain / best reference (lower is better); a batch ratio is fxchain images/s
over the best reference's images/s (higher is better).
"""
import argparse
import json
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--refs", required=True)
    ap.add_argument("--fxchain", required=True)
    ap.add_argument("--machine")
    a = ap.parse_args()
    refs = load(a.refs)
    fx = load(a.fxchain)
    machine = json.load(open(a.machine)) if a.machine else {}
    versions = next((r["versions"] for r in refs if "versions" in r), {})

    def ref_time(op, size, libs):
        rows = [r for r in refs if r.get("op") == op and r.get("size") == size and r.get("lib") in libs
                and "median_ms" in r and r.get("threads", 1) <= 2]
        if not rows:
            return None
        best = min(rows, key=lambda r: r["median_ms"])
        return best["median_ms"], f'{best["lib"]} ({best["threads"]} thr)'

    def ref_tput(libs):
        rows = [r for r in refs if r.get("op") == "batch_basic_chain" and r.get("lib") in libs]
        if not rows:
            return None
        best = max(rows, key=lambda r: r["images_per_second"])
        return best["images_per_second"], f'{best["lib"]} ({best["workers"]} workers)'

    def fx_row(name, size, batch=False):
        # `bench --json` writes "batch": null for a single image.
        rows = [r for r in fx if r.get("name") == name and r.get("width") == size and (r.get("batch") is not None) == batch]
        return rows[-1] if rows else None

    levels = sorted({r.get("simd", "?") for r in fx})
    print(f"CPU: {machine.get('cpu', '?')}; {machine.get('cores', '?')} cores; load average at the start "
          f"{machine.get('load', '?')}; SIMD level: {', '.join(levels)}; references: "
          + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print()
    print("| target | fxchain | best reference (same run) | ratio | target ratio | met |")
    print("|---|---|---|---|---|---|")

    def row_time(label, name, size, ref, target):
        f = fx_row(name, size)
        if f is None or ref is None:
            print(f"| {label} | {'%.2f ms' % f['median_ms'] if f else 'not run'} | "
                  f"{'%.2f ms %s' % ref if ref else 'not run'} | | ≤ {target} | n/a |")
            return
        ratio = f["median_ms"] / ref[0]
        print(f"| {label} | {f['median_ms']:.2f} ms | {ref[0]:.2f} ms {ref[1]} | {ratio:.2f} | ≤ {target} | "
              f"{'yes' if ratio <= target else 'no'} |")

    sizes = sorted({r["width"] for r in fx if r.get("batch") is None and r.get("name") == "gaussian_blur"})
    for s in sizes:
        row_time(f"Gaussian σ=3 (quality), {s}²", "gaussian_blur", s,
                 ref_time("gaussian_blur", s, ["libvips", "opencv"]), 0.8)
    for s in sizes:
        row_time(f"unsharp σ=1 ×0.3, {s}²", "unsharp", s, ref_time("unsharp", s, ["opencv", "libvips", "pillow"]), 0.7)
    for s in sizes:
        row_time(f"resize ½ Lanczos3, {s}²", "resize_half", s,
                 ref_time("resize_half", s, ["libvips", "fast_image_resize"]), 0.8)
    big = max(sizes) if sizes else 4096
    row_time(f"five point steps, {big}², vs one OpenCV LUT pass", "point5", big, ref_time("lut", big, ["opencv"]), 0.3)
    row_time(f"five point steps, {big}², vs the memory floor", "point5", big,
             ref_time("memory_floor", big, ["numpy"]), 1.5)
    for g in ["noise.perlin", "generate.enso", "generate.parchment", "generate.sigil"]:
        f = fx_row(g, 1024)
        if f:
            ms = f["median_ms"]
            print(f"| {g} 1024² | {ms:.2f} ms | 8 ms budget | {ms / 8:.2f} | ≤ 1.0 | {'yes' if ms <= 8 else 'no'} |")
    for label, name, libs, target in [
        ("basic chain, batch 64 × 512²", "basic_chain", ["image+fast_image_resize", "opencv-lanczos4"], 2.0),
        ("basic chain fast, batch 64 × 512²", "basic_chain_fast", ["opencv-area"], 1.0),
    ]:
        f = fx_row(name, 512, batch=True)
        ref = ref_tput(libs)
        if f and ref:
            ratio = f["images_per_second"] / ref[0]
            print(f"| {label} | {f['images_per_second']:.0f} img/s | {ref[0]:.0f} img/s {ref[1]} | {ratio:.2f} | "
                  f"≥ {target} | {'yes' if ratio >= target else 'no'} |")
    # The fast variants against their quality paths and, for the Gaussian, libvips.
    for s in sizes:
        q, f = fx_row("gaussian_blur", s), fx_row("gaussian_blur_fast", s)
        if q and f:
            r = q["median_ms"] / f["median_ms"]
            print(f"| blur.gaussian.fast vs blur.gaussian, {s}² | {f['median_ms']:.2f} ms | {q['median_ms']:.2f} ms "
                  f"(quality path) | {r:.2f}× faster | ≥ 2.0× | {'yes' if r >= 2.0 else 'no'} |")
        ref = ref_time("gaussian_blur", s, ["libvips"])
        if f and ref:
            r = f["median_ms"] / ref[0]
            print(f"| blur.gaussian.fast vs libvips, {s}² | {f['median_ms']:.2f} ms | {ref[0]:.2f} ms {ref[1]} | "
                  f"{r:.2f} | ≤ 0.5 | {'yes' if r <= 0.5 else 'no'} |")
        q, f = fx_row("unsharp", s), fx_row("unsharp_fast", s)
        if q and f:
            r = q["median_ms"] / f["median_ms"]
            print(f"| sharpen.unsharp.fast vs sharpen.unsharp, {s}² | {f['median_ms']:.2f} ms | {q['median_ms']:.2f} ms "
                  f"(quality path) | {r:.2f}× faster | ≥ 2.0× | {'yes' if r >= 2.0 else 'no'} |")
        q, f = fx_row("resize_half", s), fx_row("resize_half_fast", s)
        if q and f:
            r = q["median_ms"] / f["median_ms"]
            print(f"| geometry.resize.fast vs geometry.resize, {s}² | {f['median_ms']:.2f} ms | {q['median_ms']:.2f} ms "
                  f"(quality path) | {r:.2f}× faster | ≥ 2.0× | {'yes' if r >= 2.0 else 'no'} |")


if __name__ == "__main__":
    sys.exit(main())
