#!/usr/bin/env python3
"""The comparison table of scripts/compare.sh: fxchain against the reference anchors of one run.

Usage: compare_report.py --ref DIR --fxchain FXCHAIN.jsonl [--extra EXTRA.json]

DIR holds the anchors' CSVs (results_py.csv, results_rust.csv, their _throughput.csv and
results_bandwidth.csv). FXCHAIN.jsonl holds `fxchain bench --json` lines. EXTRA.json holds
figures measured otherwise: peak RSS in KiB and the result-cache re-run ratio.

Times are medians. A time ratio is fxchain / best reference (lower is better); a throughput
ratio is fxchain images/s / best reference images/s (higher is better).
"""
import argparse
import csv
import json
import os
import sys


def read_csv(d, name):
    p = os.path.join(d, name)
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return list(csv.DictReader(f))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", required=True)
    ap.add_argument("--fxchain", required=True)
    ap.add_argument("--extra")
    a = ap.parse_args()

    times = [r for r in read_csv(a.ref, "results_py.csv") + read_csv(a.ref, "results_rust.csv")
             if not r["op"].startswith("chain_batch")]
    tput = read_csv(a.ref, "results_py_throughput.csv") + read_csv(a.ref, "results_rust_throughput.csv")
    bandwidth = read_csv(a.ref, "results_bandwidth.csv")
    fx = [json.loads(l) for l in open(a.fxchain) if l.strip()]
    extra = json.load(open(a.extra)) if a.extra and os.path.exists(a.extra) else {}

    def ref_time(op, size, libs):
        """Best (lowest) median of `libs` for `op` at `size`, over thread modes up to 2."""
        rows = [r for r in times if r["op"] == op and int(r["size"]) == size and r["library"] in libs
                and int(r["threads"]) <= 2]
        if not rows:
            return None, None
        best = min(rows, key=lambda r: float(r["median_ms"]))
        return float(best["median_ms"]), f'{best["library"]} ({best["threads"]} thr)'

    def ref_tput(libs, size=512):
        rows = [r for r in tput if r["library"] in libs and int(r["size"]) == size]
        if not rows:
            return None, None
        best = max(rows, key=lambda r: float(r["img_per_s_median"]))
        return float(best["img_per_s_median"]), f'{best["library"]} ({best["workers"]} workers)'

    def fx_time(chain, size):
        rows = [r for r in fx if os.path.basename(r["chain"]) == chain and r["width"] == size and "batch" not in r]
        return rows[-1]["median_ms"] if rows else None

    def fx_tput(chain):
        rows = [r for r in fx if os.path.basename(r["chain"]) == chain and "images_per_second" in r]
        return rows[-1]["images_per_second"] if rows else None

    out = []

    def row(target, fx_val, ref_val, ref_name, unit, ok, ratio=None, limit=""):
        if fx_val is None or (ref_val is None and ratio is None):
            out.append((target, "not measured", "", "", "", "n/a"))
            return
        if ratio is None:
            ratio = fx_val / ref_val if unit == "ms" else fx_val / ref_val
        fmt = (lambda v: f"{v:.1f} {unit}") if unit else (lambda v: f"{v:.1f}")
        out.append((target, fmt(fx_val), f"{fmt(ref_val)} {ref_name}" if ref_val is not None else ref_name,
                    f"{ratio:.2f}", limit, "yes" if ok(ratio) else "no"))

    for size in (1024, 4096):
        r, n = ref_time("gaussian_blur", size, {"opencv", "pyvips-8.18"})
        row(f"Gaussian σ=3, {size}²", fx_time("gaussian_blur.ron", size), r, n, "ms", lambda x: x <= 1.0,
            limit="≤ 1.0")
    r, n = ref_time("unsharp", 4096, {"opencv"})
    row("unsharp σ=1 ×0.3, 4096²", fx_time("unsharp.ron", 4096), r, n, "ms", lambda x: x <= 1.0, limit="≤ 1.0")
    r, n = ref_time("color_adjust", 4096, {"pillow", "opencv"})
    row("five fused point steps, 4096² (vs one LUT step)", fx_time("point5.ron", 4096), r, n, "ms",
        lambda x: x <= 0.5, limit="≤ 0.5")
    floor = [b for b in bandwidth if b["kernel"] == "map_src_to_dst" and int(b["threads"]) == 2]
    if floor:
        f = float(floor[0]["floor_ms_4096rgba_pass"])
        row("five fused point steps, 4096² (vs memory floor)", fx_time("point5.ron", 4096), f,
            "one src→dst pass", "ms", lambda x: x <= 3.0, limit="≤ 3.0")
    r, n = ref_time("resize_half", 4096, {"fast_image_resize", "pyvips-8.18"})
    row("resize ½ Lanczos3, 4096²", fx_time("resize_half.ron", 4096), r, n, "ms", lambda x: x <= 1.0,
        limit="≤ 1.0")
    r, n = ref_tput({"image+fir", "opencv-lanczos4"})
    row("basic chain, batch 64 × 512² (images/s)", fx_tput("basic_chain.ron"), r, n, "img/s",
        lambda x: x >= 1.5, limit="≥ 1.5")
    r, n = ref_tput({"opencv"})
    row("basic chain fast, batch 64 × 512² (images/s)", fx_tput("basic_chain_fast.ron"), r, n, "img/s",
        lambda x: x >= 0.5, limit="≥ 0.5")
    out.append(("plugin call vs statically linked", "not measured", "", "", "≤ 1.02", "n/a"))
    c = extra.get("cache_ratio")
    out.append(("result cache: re-run with the last step changed", f"{c:.1f}× faster" if c else "not measured",
                "cold render", f"{c:.1f}" if c else "", "≥ 5", ("yes" if c >= 5 else "no") if c else "n/a"))
    for g in ("noise.perlin", "generate.sigil", "generate.enso", "generate.parchment"):
        row(f"{g} 1024²" + (" (fBm, 4 octaves)" if g == "noise.perlin" else ""), fx_time(f"{g}.ron", 1024), 20.0,
            "budget", "ms", lambda x: x <= 1.0, limit="≤ 1.0")
    for key, what in (("rss_run_kb", "peak RSS, basic chain, 4096² PNG in and out"),
                      ("rss_batch_kb", "peak RSS, batch of 64 × 512² PNGs")):
        kb = extra.get(key)
        if kb:
            mb = kb / 1024
            out.append((what, f"{mb:.0f} MiB", "150 MiB budget", f"{mb / 150:.2f}", "≤ 1.0",
                        "yes" if mb <= 150 else "no"))
        else:
            out.append((what, "not measured", "", "", "≤ 1.0", "n/a"))

    print("| target | fxchain | best reference (same run) | ratio | target ratio | met |")
    print("|---|---|---|---|---|---|")
    for r in out:
        print("| " + " | ".join(r) + " |")

    # Every workload at every size measured, for the record.
    print("\nfxchain bench, medians (2 threads):\n")
    print("| chain | size | median ms | images/s |")
    print("|---|---|---|---|")
    for r in fx:
        ips = f'{r["images_per_second"]:.0f}' if "images_per_second" in r else ""
        print(f'| {os.path.basename(r["chain"])} | {r["width"]}² | {r["median_ms"]:.2f} | {ips} |')
    return 0


if __name__ == "__main__":
    sys.exit(main())
