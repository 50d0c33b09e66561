"""Run an fxchain chain over a folder of images with Ray Data's ``map_batches``.

Each actor of the pool loads the plugins and validates the chain once (in ``__init__``), then
renders its batches with ``chain.map`` (the GIL released, the host's threads doing the work) and
writes each output with the host's encoder, so the files are byte for byte those ``fxchain
batch`` writes for the same inputs.

    python examples/ray_folder.py CHAIN IN_DIR OUT_DIR --plugin-dir ../target/release [--actors 2]

To work on arrays instead of files, read them with ``ray.data.read_images(IN_DIR, mode="RGBA")``
and return ``{"image": list(chain.map(batch["image"]))}`` from ``__call__``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import ray

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff"}


class Render:
    """A Ray Data callable class: one instance per actor, so plugins load once per actor."""

    def __init__(self, chain_path: str, plugin_dirs: list[str]):
        import fxchain

        self.fxchain = fxchain
        registry = fxchain.Registry(plugin_dirs=plugin_dirs, default_plugins=False)
        self.chain = fxchain.Chain.load(chain_path, registry=registry)
        self.loads = 1

    def __call__(self, batch: dict) -> dict:
        srcs, dsts = list(batch["src"]), list(batch["dst"])
        for dst, image in zip(dsts, self.chain.map(srcs)):
            Path(dst).parent.mkdir(parents=True, exist_ok=True)
            self.fxchain.save(image, dst)
        n = len(dsts)
        return {"dst": dsts, "pid": [os.getpid()] * n, "loads": [self.loads] * n}


def run_folder(chain_path: str, in_dir: str, out_dir: str, plugin_dirs: list[str], actors: int = 2) -> list[dict]:
    rows = []
    for p in sorted(Path(in_dir).rglob("*")):
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
            rel = p.relative_to(in_dir).with_suffix(".png")
            rows.append({"src": str(p), "dst": str(Path(out_dir) / rel)})
    ds = ray.data.from_items(rows)
    ds = ds.map_batches(
        Render,
        fn_constructor_args=(str(Path(chain_path).resolve()), [str(Path(d).resolve()) for d in plugin_dirs]),
        batch_size=8,
        concurrency=actors,
    )
    return ds.take_all()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("chain")
    ap.add_argument("in_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--plugin-dir", action="append", default=[])
    ap.add_argument("--actors", type=int, default=2)
    a = ap.parse_args()
    ray.init()
    results = run_folder(a.chain, a.in_dir, a.out_dir, a.plugin_dir, a.actors)
    print(f"{len(results)} images on {len({r['pid'] for r in results})} actors")


if __name__ == "__main__":
    main()
