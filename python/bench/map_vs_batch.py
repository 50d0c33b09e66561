"""Images per second of `chain.map` against `fxchain batch` on the same chain and images.

    python python/bench/map_vs_batch.py [--chain examples/chains/photo.ron] [--count 64] [--size 512]

Uses the release builds (`cargo build --release --workspace`; the package built with
`maturin build --release`). Writes `count` PNGs of size×size, then times, best of `--repeat`:

- `fxchain batch` over the folder (decode, render, encode and write each image, in parallel);
- `chain.map` over the images as arrays (render only: what map is for);
- `chain.map` over the files, each result written with `fxchain.save` on a few threads (the same
  work as batch).

Prints a markdown table with the ratios map / batch (higher is better; the target is ≥ 0.9).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

import fxchain

ROOT = Path(__file__).resolve().parents[2]


def make_images(folder: Path, count: int, size: int) -> list[Path]:
    base = np.asarray(Image.open(ROOT / "examples" / "images" / "sample.png").convert("RGBA").resize((size, size)))
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        a = np.roll(base, 13 * i, axis=1).copy()
        a[..., :3] ^= rng.integers(0, 16, (size, size, 3), dtype=np.uint8)
        p = folder / f"img{i:03}.png"
        Image.fromarray(a).save(p)
        paths.append(p)
    return paths


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chain", action="append", help="chain file (repeatable; default photo.ron and color.ron)")
    ap.add_argument("--count", type=int, default=64)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--plugin-dir", default=str(ROOT / "target" / "release"))
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "fxchain"))
    a = ap.parse_args()
    chains = [Path(c) for c in (a.chain or [ROOT / "examples/chains/photo.ron", ROOT / "examples/chains/color.ron"])]
    reg = fxchain.Registry(plugin_dirs=[a.plugin_dir], default_plugins=False)
    work = Path(tempfile.mkdtemp(prefix="fxchain-map-bench-"))
    try:
        src = work / "in"
        src.mkdir()
        paths = make_images(src, a.count, a.size)
        arrays = [np.asarray(Image.open(p).convert("RGBA")) for p in paths]
        print(f"{a.count} images of {a.size}×{a.size}, {fxchain.threads()} threads, best of {a.repeat}\n")
        print("| chain | batch img/s | map arrays img/s | ratio | map files + save img/s | ratio |")
        print("|---|---|---|---|---|---|")
        for chain_path in chains:
            chain = fxchain.Chain.load(chain_path, registry=reg)
            out = work / "batch"
            cmd = [a.bin, "--quiet", "--no-default-plugins", "--plugin-dir", a.plugin_dir, "batch", str(chain_path),
                   "--input-dir", str(src), "--output-dir", str(out), "--overwrite"]
            subprocess.run(cmd, check=True)  # warm-up
            t_batch = best(lambda: subprocess.run(cmd, check=True), a.repeat)
            list(chain.map(arrays))  # warm-up
            t_arrays = best(lambda: list(chain.map(arrays)), a.repeat)
            mine = work / "map"
            mine.mkdir(exist_ok=True)

            def files():
                # fxchain.save releases the GIL: encoding overlaps the rendering of the next images.
                with ThreadPoolExecutor(fxchain.threads()) as pool:
                    for f in [pool.submit(fxchain.save, img, mine / p.name) for p, img in zip(paths, chain.map(paths))]:
                        f.result()

            t_files = best(files, a.repeat)
            r = a.count
            print(f"| {chain_path.name} | {r / t_batch:.1f} | {r / t_arrays:.1f} | {t_batch / t_arrays:.2f} | "
                  f"{r / t_files:.1f} | {t_batch / t_files:.2f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
