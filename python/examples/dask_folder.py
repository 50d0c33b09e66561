"""Run an fxchain chain over a folder of images on a Dask distributed cluster.

Each worker process loads the plugins and validates the chain once (a Dask ``WorkerPlugin``),
then renders the files it is given with the GIL released, writing each output with the host's
encoder, so the files are byte for byte those ``fxchain batch`` writes for the same inputs.

    python examples/dask_folder.py CHAIN IN_DIR OUT_DIR --plugin-dir ../target/release

On a real cluster pass ``--scheduler tcp://host:8786`` instead of starting a local one.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from dask.distributed import Client, LocalCluster, WorkerPlugin, get_worker

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff"}
PLUGIN_NAME = "fxchain"


class FxchainPlugin(WorkerPlugin):
    """Loads the plugins and the chain once per worker process."""

    def __init__(self, chain_path: str, plugin_dirs: list[str]):
        self.chain_path = chain_path
        self.plugin_dirs = plugin_dirs
        self.chain = None
        self.loads = 0

    def setup(self, worker):  # called once in each worker process
        import fxchain

        registry = fxchain.Registry(plugin_dirs=self.plugin_dirs, default_plugins=False)
        self.chain = fxchain.Chain.load(self.chain_path, registry=registry)
        self.loads += 1


def render_file(src: str, dst: str) -> dict:
    """Renders one file on the worker this task runs on; returns what happened."""
    import fxchain

    plugin = get_worker().plugins[PLUGIN_NAME]
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    fxchain.save(plugin.chain.run(src), dst)
    return {"input": src, "output": dst, "pid": os.getpid(), "loads": plugin.loads}


def files_of(in_dir: Path, out_dir: Path) -> list[tuple[str, str]]:
    """Input files (recursively, sorted) and their outputs: the same names as ``fxchain batch``
    gives them (the relative path with a .png extension)."""
    pairs = []
    for p in sorted(in_dir.rglob("*")):
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
            rel = p.relative_to(in_dir).with_suffix(".png")
            pairs.append((str(p), str(out_dir / rel)))
    return pairs


def run_folder(client: Client, chain_path: str, in_dir: str, out_dir: str, plugin_dirs: list[str]) -> list[dict]:
    """Renders every image of ``in_dir`` into ``out_dir`` on the workers of ``client``."""
    if __name__ != "__main__":
        # Imported as a module: the workers need it too to unpickle the plugin and the tasks.
        client.upload_file(__file__)
    client.register_plugin(FxchainPlugin(str(Path(chain_path).resolve()), [str(Path(d).resolve()) for d in plugin_dirs]), name=PLUGIN_NAME)
    pairs = files_of(Path(in_dir), Path(out_dir))
    futures = [client.submit(render_file, s, d, pure=False) for s, d in pairs]
    return client.gather(futures)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("chain")
    ap.add_argument("in_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--plugin-dir", action="append", default=[], help="folder of plugin libraries (repeatable)")
    ap.add_argument("--scheduler", help="address of a running scheduler (default: a local 2-worker cluster)")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    if a.scheduler:
        client = Client(a.scheduler)
    else:
        cluster = LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True, host="127.0.0.1")
        client = Client(cluster)
    results = run_folder(client, a.chain, a.in_dir, a.out_dir, a.plugin_dir)
    print(f"{len(results)} images on {len({r['pid'] for r in results})} workers")


if __name__ == "__main__":
    main()
