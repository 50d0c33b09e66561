"""Inputs in the host's layout are read in place; outputs are host memory handed to NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import fxchain

MIB = 1 << 20


def aligned(shape, dtype) -> np.ndarray:
    """A NumPy-owned C-contiguous array whose data starts on a 64-byte boundary."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape)) * dtype.itemsize
    raw = np.empty(n + 64, np.uint8)
    off = (-raw.ctypes.data) % 64
    a = raw[off : off + n].view(dtype).reshape(shape)
    assert a.ctypes.data % 64 == 0 and a.flags.c_contiguous
    return a


def frame_bytes_during(chain, image) -> int:
    """Most bytes the host's frame pool held at once while `chain` rendered `image`, above what
    it held before (no free buffers are kept, so every frame the render needs is new memory)."""
    fxchain.pool_stats(budget=0)
    before = fxchain.pool_stats(reset_peak=True)["bytes"]
    out = chain.run(image)
    peak = fxchain.pool_stats()["peak_bytes"]
    del out
    return peak - before


@pytest.fixture
def shrink(registry):
    # 2048×2048 → 16×16: the output is 1 KiB, the input 16 MiB (64 MiB in float).
    return fxchain.Chain.from_str(
        '(steps: [(effect: "geometry.resize", params: {"width": 16, "height": 16})])', registry=registry
    )


@pytest.fixture(autouse=True)
def restore_pool_budget():
    yield
    fxchain.pool_stats(budget=256 * MIB)


def test_aligned_uint8_input_is_read_in_place(shrink):
    rng = np.random.default_rng(1)
    a = aligned((2048, 2048, 4), np.uint8)
    a[...] = rng.integers(0, 256, a.shape, dtype=np.uint8)
    assert fxchain.reads_in_place(a)
    in_place = frame_bytes_during(shrink, a)
    # The same pixels at an offset the host cannot view: one 16 MiB copy into a frame.
    raw = np.empty(a.nbytes + 64, np.uint8)
    off = ((-raw.ctypes.data) % 64 + 16) % 64
    b = raw[off : off + a.nbytes].reshape(a.shape)
    b[...] = a
    assert not fxchain.reads_in_place(b)
    copied = frame_bytes_during(shrink, b)
    assert in_place < 1 * MIB, f"{in_place} bytes of frames for a read-in-place input"
    assert copied >= 16 * MIB, f"the copy of a misaligned input should show: {copied} bytes"
    np.testing.assert_array_equal(shrink.run(a), shrink.run(b))


def test_fxchain_empty_arrays_and_float_frames_are_read_in_place(registry, shrink):
    a = fxchain.empty(2048, 2048)
    a[..., 0] = 200
    a[..., 3] = 255
    assert frame_bytes_during(shrink, a) < 1 * MIB
    f32 = fxchain.Chain.from_str(
        '(precision: F32, steps: [(effect: "geometry.resize", params: {"width": 16, "height": 16})])',
        registry=registry,
    )
    x = aligned((2048, 2048, 4), np.float32)
    x[...] = 0.5
    assert frame_bytes_during(f32, x) < 1 * MIB
    # A uint8 array for a float chain is converted (once) by the host's conversion.
    assert frame_bytes_during(f32, a) >= 64 * MIB


def test_in_place_inputs_are_never_written(registry):
    # A point effect runs in place on its input when nothing else holds it: never on the caller's.
    chain = fxchain.Chain.from_str('(steps: [(effect: "color.invert")])', registry=registry)
    a = aligned((64, 64, 4), np.uint8)
    a[...] = 10
    assert fxchain.reads_in_place(a)
    out = chain.run(a)
    assert (a == 10).all()
    assert out[0, 0].tolist() == [245, 245, 245, 10]
    assert not np.shares_memory(out, a)


def test_outputs_own_host_frame_memory(registry, sample):
    chain = fxchain.Chain.from_str('(steps: [(effect: "color.invert")])', registry=registry)
    out = chain.run(sample)
    assert isinstance(out.base, fxchain.FrameBuffer)
    assert out.__array_interface__["data"][0] == out.base.address
    assert out.base.address % 64 == 0
    h, w, _ = sample.shape
    # Rows padded to 64 bytes, as host frames are.
    assert out.strides == ((w * 4 + 63) // 64 * 64, 4, 1)
    assert out.base.nbytes >= out.strides[0] * h
    assert out.flags.writeable
    # A float output of an 8-bit chain is a converted frame, still host memory.
    f = chain.run(sample, dtype=np.float32)
    assert isinstance(f.base, fxchain.FrameBuffer) and f.dtype == np.float32
    # uint16 has no host frame format: converted, owned by NumPy.
    assert not isinstance(chain.run(sample, dtype=np.uint16).base, fxchain.FrameBuffer)
    # The memory outlives every other reference to it.
    base = out.base
    del base
    view = out[..., :3]
    del out
    assert view[0, 0].tolist() == (255 - sample[0, 0, :3]).tolist()


def test_outputs_feed_the_next_chain_in_place(registry):
    chain = fxchain.Chain.from_str('(size: (2048, 2048), steps: [(effect: "generate.solid", params: {"color": "#204060"})])', registry=registry)
    shrink = fxchain.Chain.from_str('(steps: [(effect: "geometry.resize", params: {"width": 16, "height": 16})])', registry=registry)
    big = chain.run()
    assert fxchain.reads_in_place(big)
    assert frame_bytes_during(shrink, big) < 1 * MIB
    assert big[0, 0].tolist() == [0x20, 0x40, 0x60, 255]
    # A copy whose first byte is 16 bytes past a 64-byte boundary, whatever NumPy's allocator
    # returned (a fixed offset into a fresh array can land on a boundary).
    raw = np.empty(big.nbytes + 64, np.uint8)
    off = (16 - raw.ctypes.data) % 64
    copy = raw[off : off + big.nbytes].reshape(big.shape)
    assert copy.ctypes.data % 64 == 16
    copy[...] = big
    assert not fxchain.reads_in_place(copy)
    np.testing.assert_array_equal(shrink.run(big), shrink.run(copy))
