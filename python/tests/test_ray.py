"""The Ray Data example writes exactly the files `fxchain batch` writes (needs `pip install ray`;
skipped where Ray is not installed, as in CI)."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import PLUGIN_DIR, ROOT, cli

ray = pytest.importorskip("ray")

EXAMPLE = ROOT / "python" / "examples" / "ray_folder.py"


def test_ray_map_batches_matches_fxchain_batch(sample, tmp_path):
    spec = importlib.util.spec_from_file_location("ray_folder", EXAMPLE)
    ex = importlib.util.module_from_spec(spec)
    sys.modules["ray_folder"] = ex
    spec.loader.exec_module(ex)
    src = tmp_path / "in"
    src.mkdir()
    for i in range(6):
        Image.fromarray(np.roll(sample, 9 * i, axis=1).copy()).save(src / f"img{i}.png")
    chain = ROOT / "examples" / "chains" / "photo.ron"
    cli("--quiet", "batch", chain, "--input-dir", src, "--output-dir", tmp_path / "batch")
    ray.init(num_cpus=2, include_dashboard=False, runtime_env={"py_modules": [str(EXAMPLE)]})
    try:
        results = ex.run_folder(str(chain), str(src), str(tmp_path / "ray"), [str(PLUGIN_DIR)], actors=2)
    finally:
        ray.shutdown()
    assert len(results) == 6
    assert {r["loads"] for r in results} == {1}
    for f in sorted((tmp_path / "batch").glob("*.png")):
        assert (tmp_path / "ray" / f.name).read_bytes() == f.read_bytes(), f.name
