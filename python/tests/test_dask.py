"""The Dask example on a 2-worker LocalCluster writes exactly the files `fxchain batch` writes."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import PLUGIN_DIR, ROOT, cli

distributed = pytest.importorskip("distributed")

EXAMPLE = ROOT / "python" / "examples" / "dask_folder.py"


def load_example():
    spec = importlib.util.spec_from_file_location("dask_folder", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["dask_folder"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_dask_folder_matches_fxchain_batch(sample, tmp_path):
    ex = load_example()
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    rng = np.random.default_rng(5)
    for i in range(8):
        a = np.roll(sample, 11 * i, axis=0).copy()
        a[..., :3] ^= rng.integers(0, 32, a.shape[:2] + (3,), dtype=np.uint8)
        Image.fromarray(a).save(src / ("sub" if i % 2 else "") / f"img{i}.png")
    chain = ROOT / "examples" / "chains" / "photo.ron"
    cli("--quiet", "batch", chain, "--input-dir", src, "--output-dir", tmp_path / "batch", "--no-provenance")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        results = ex.run_folder(client, str(chain), str(src), str(tmp_path / "dask"), [str(PLUGIN_DIR)])
    assert len(results) == 8
    # Both workers took part, and each loaded the plugins once for all its images.
    pids = {r["pid"] for r in results}
    assert len(pids) == 2, pids
    assert {r["loads"] for r in results} == {1}
    for f in sorted((tmp_path / "batch").rglob("*.png")):
        rel = f.relative_to(tmp_path / "batch")
        assert (tmp_path / "dask" / rel).read_bytes() == f.read_bytes(), rel
    assert len(list((tmp_path / "dask").rglob("*.png"))) == 8
