"""chain.map: results in order, equal to run() and byte for byte to `fxchain batch`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import fxchain
from conftest import ROOT, SAMPLE, cli, read_rgba

PHOTO = ROOT / "examples" / "chains" / "photo.ron"


def variants(sample: np.ndarray, n: int) -> list[np.ndarray]:
    """`n` different images: the sample rolled and tinted."""
    out = []
    for i in range(n):
        a = np.roll(sample, 7 * i, axis=1).copy()
        a[..., i % 3] = a[..., i % 3] // 2 + i
        out.append(a)
    return out


def test_map_yields_in_order_what_run_gives(registry, sample):
    chain = fxchain.Chain.load(PHOTO, registry=registry)
    images = variants(sample, 11)
    expected = [chain.run(a) for a in images]
    for workers in (None, 1, 3):
        got = list(chain.map(iter(images), workers=workers))
        assert len(got) == len(images)
        for g, e in zip(got, expected):
            np.testing.assert_array_equal(g, e)
    # Other dtypes and generators of images work too; the output dtype follows each input.
    f = list(chain.map(a.astype(np.float32) / np.float32(255) for a in images[:3]))
    assert all(x.dtype == np.float32 for x in f)
    np.testing.assert_array_equal(np.round(f[2] * 255).astype(np.uint8), expected[2])


def test_map_matches_fxchain_batch_byte_for_byte(registry, sample, tmp_path):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    paths = []
    for i, a in enumerate(variants(sample, 6)):
        p = src / f"img{i}.png"
        Image.fromarray(a).save(p)
        paths.append(p)
    cli("--quiet", "batch", PHOTO, "--input-dir", src, "--output-dir", dst, "--no-provenance")
    chain = fxchain.Chain.load(PHOTO, registry=registry)
    mine = tmp_path / "mine"
    mine.mkdir()
    for p, out in zip(paths, chain.map(paths)):
        np.testing.assert_array_equal(out, read_rgba(dst / p.name))
        fxchain.save(out, mine / p.name)
        assert (mine / p.name).read_bytes() == (dst / p.name).read_bytes()


def test_a_failing_image_raises_at_its_turn(registry, sample, tmp_path):
    chain = fxchain.Chain.load(PHOTO, registry=registry)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    it = chain.map([sample, bad, sample])
    first = next(it)
    with pytest.raises(fxchain.RenderError, match="broken.png"):
        next(it)
    np.testing.assert_array_equal(next(it), first)
    with pytest.raises(StopIteration):
        next(it)


def test_map_rejects_bad_items_clearly(registry, sample):
    chain = fxchain.Chain.load(PHOTO, registry=registry)
    with pytest.raises(TypeError, match="float64"):
        list(chain.map([sample, sample.astype(np.float64)]))
    with pytest.raises(ValueError, match="workers"):
        chain.map([sample], workers=0)
