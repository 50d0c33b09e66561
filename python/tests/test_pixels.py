"""Every example chain, rendered from Python in every supported dtype, equals the CLI's output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import fxchain
from conftest import CHAINS, SAMPLE, reads_input

# Inputs of each dtype carrying exactly the sample's 8-bit values, and how an output of that
# dtype maps back onto the CLI's 8-bit PNG.
DTYPES = {
    "uint8": (lambda a: a, lambda o: o),
    "uint16": (lambda a: a.astype(np.uint16) * 257, lambda o: o),
    "float32": (lambda a: a.astype(np.float32) / np.float32(255), lambda o: o),
}


def expected_in(dtype: str, cli8: np.ndarray) -> np.ndarray:
    """The CLI's 8-bit output in `dtype`, by the host's documented conversions."""
    if dtype == "uint8":
        return cli8
    if dtype == "uint16":
        return cli8.astype(np.uint16) * 257
    return cli8.astype(np.float32) * np.float32(1.0 / 255.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("chain_path", CHAINS, ids=lambda p: p.stem)
def test_example_chain_matches_cli(chain_path: Path, dtype: str, registry, sample, cli_output):
    chain = fxchain.Chain.load(chain_path, registry=registry)
    if chain.inputs:
        ref = cli_output(chain_path, SAMPLE)
        to_dtype, _ = DTYPES[dtype]
        image = to_dtype(sample)
        assert image.dtype == np.dtype(dtype)
        out = chain.run(image)
    else:
        ref = cli_output(chain_path)
        out = chain.run(dtype=dtype)
    assert out.dtype == np.dtype(dtype)
    assert out.shape == ref.shape
    np.testing.assert_array_equal(out, expected_in(dtype, ref))


@pytest.mark.parametrize("chain_path", [p for p in CHAINS if p.stem in ("photo", "color")], ids=lambda p: p.stem)
@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_three_and_one_channel_arrays_match_the_same_file(chain_path, mode, registry, cli_output, tmp_path):
    """An H×W×3 or H×W array goes through the conversion the CLI applies to an RGB or gray file."""
    img = Image.open(SAMPLE).convert(mode)
    path = tmp_path / f"sample-{mode}.png"
    img.save(path)
    ref = cli_output(chain_path, path)
    chain = fxchain.Chain.load(chain_path, registry=registry)
    arr = np.asarray(img)
    assert arr.ndim == (3 if mode == "RGB" else 2)
    np.testing.assert_array_equal(chain.run(arr), ref)
    # 16-bit and float versions of the same values give the same pixels.
    np.testing.assert_array_equal(chain.run(arr.astype(np.uint16) * 257), ref.astype(np.uint16) * 257)
    # A PIL image and a path are accepted as well.
    np.testing.assert_array_equal(chain.run(img), ref)
    np.testing.assert_array_equal(chain.run(path), ref)
    np.testing.assert_array_equal(chain.run(str(path)), ref)


def test_overrides_and_quality_match_the_cli(registry, sample, tmp_path):
    from conftest import ROOT, cli, read_rgba

    chain_path = ROOT / "examples" / "chains" / "blur.ron"
    out = tmp_path / "o.png"
    chain = fxchain.Chain.load(chain_path, registry=registry)
    # Step "g" of blur.ron is a gaussian blur; "2" is its number (both as --set accepts them).
    cli("--quiet", "run", chain_path, "-i", SAMPLE, "-o", out, "--set", "g.sigma=1.5", "--set", "2.sigma=1.5", "--quality", "fast")
    got = chain.run(sample, set={"g.sigma": 1.5, "2.sigma": 1.5}, quality="fast")
    np.testing.assert_array_equal(got, read_rgba(out))
    assert not np.array_equal(got, chain.run(sample)), "the override must change the image"


def test_f32_precision_keeps_values_between_steps(registry):
    chain = fxchain.Chain.from_str(
        """(size: (4, 4), steps: [
            (effect: "generate.solid", params: {"color": "#0d1a27"}),
            (effect: "color.brightness", params: {"amount": 0.1}),
            (effect: "color.brightness", params: {"amount": 10.0}),
        ])""",
        registry=registry,
    )
    f32 = chain.run(precision="f32", dtype="uint8")
    assert f32[0, 0].tolist() == [0x0D, 0x1A, 0x27, 255]
    assert chain.run(dtype="uint8")[0, 0].tolist() != [0x0D, 0x1A, 0x27, 255]
    # A float output of an F32 render is the frame itself: values between the 8-bit steps.
    assert chain.run(precision="f32", dtype=np.float32).dtype == np.float32


def test_apply_one_effect(registry, sample, cli_output, tmp_path):
    path = tmp_path / "blur.ron"
    path.write_text('(steps: [(effect: "blur.gaussian", params: {"sigma": 3.0})])')
    ref = cli_output(path, SAMPLE)
    np.testing.assert_array_equal(fxchain.apply("blur.gaussian", sample, sigma=3.0, registry=registry), ref)
    with pytest.raises(fxchain.ChainError) as e:
        fxchain.apply("blur.gaussian", sample, sigmaa=3.0, registry=registry)
    assert "sigmaa" in str(e.value)


def test_several_outputs_come_back_by_name(registry):
    chain = fxchain.Chain.from_str(
        """(size: (8, 6), steps: [
            (id: "red", effect: "generate.solid", params: {"color": "#ff0000"}),
            (id: "inv", effect: "color.invert", input: "red"),
        ], outputs: ["red", "inv"])""",
        registry=registry,
    )
    out = chain.run()
    assert set(out) == {"red", "inv"}
    assert out["red"].shape == (6, 8, 4)
    assert out["red"][0, 0].tolist() == [255, 0, 0, 255]
    assert out["inv"][0, 0].tolist() == [0, 255, 255, 255]


def test_bad_arrays_are_clear_errors(registry, sample):
    chain = fxchain.Chain.load(CHAINS[0], registry=registry)
    with pytest.raises(ValueError, match="not C-contiguous"):
        chain.run(sample[:, ::2])
    with pytest.raises(ValueError, match="not C-contiguous"):
        chain.run(np.asfortranarray(sample[..., :3]))
    with pytest.raises(TypeError, match="float64 are not supported"):
        chain.run(sample.astype(np.float64))
    with pytest.raises(TypeError, match="int32 are not supported"):
        chain.run(sample.astype(np.int32))
    with pytest.raises(ValueError, match="shape"):
        chain.run(sample[..., :2])
    with pytest.raises(ValueError, match="at most 131072 pixels"):
        chain.run(np.zeros((1, 140000, 4), np.uint8))
    with pytest.raises(ValueError, match="empty"):
        chain.run(np.zeros((0, 5, 4), np.uint8))
    with pytest.raises(TypeError, match="expected a NumPy array, a PIL.Image or a path"):
        chain.run(42)
    with pytest.raises(ValueError, match="named `input`"):
        chain.run()


def test_named_inputs_match_the_cli(registry, sample, tmp_path):
    from conftest import cli, read_rgba

    chain_path = tmp_path / "two.ron"
    chain_path.write_text(
        """(inputs: ["base", "top"], steps: [
            (id: "t", effect: "color.invert", input: "top"),
            (effect: "composite.blend", inputs: ["base", "t"], params: {"mode": "multiply", "opacity": 0.7}),
        ])"""
    )
    top = np.ascontiguousarray(sample[::-1])
    top_path = tmp_path / "top.png"
    Image.fromarray(top).save(top_path)
    out = tmp_path / "o.png"
    cli("--quiet", "run", chain_path, "-i", f"base={SAMPLE}", "-i", f"top={top_path}", "-o", out)
    chain = fxchain.Chain.load(chain_path, registry=registry)
    assert sorted(chain.inputs) == ["base", "top"]
    ref = read_rgba(out)
    np.testing.assert_array_equal(chain.run(inputs={"base": sample, "top": top}), ref)
    np.testing.assert_array_equal(chain.run(inputs={"base": SAMPLE, "top": top_path}), ref)
    # The positional image is the chain's first input, as the CLI's positional -i FILE.
    images = {"base": sample, "top": top}
    first, other = chain.inputs
    np.testing.assert_array_equal(chain.run(images[first], inputs={other: images[other]}), ref)
    with pytest.raises(ValueError, match=f"named `{other}`"):
        chain.run(images[first])
