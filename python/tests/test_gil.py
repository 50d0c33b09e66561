"""The GIL is released while pixels are computed: Python threads keep running."""

from __future__ import annotations

import threading
import time

import numpy as np

import fxchain


def ticks_during(work) -> tuple[int, float]:
    """Runs `work` while another Python thread records the time every millisecond; returns how
    many ticks fell well inside the call, and how long it took."""
    ticks: list[float] = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    time.sleep(0.05)
    start = time.perf_counter()
    work()
    end = time.perf_counter()
    stop.set()
    t.join()
    inside = [x for x in ticks if start + 0.02 < x < end - 0.02]
    return len(inside), end - start


def test_a_python_thread_runs_during_a_large_render(registry):
    chain = fxchain.Chain.from_str(
        '(steps: [(effect: "blur.gaussian", params: {"sigma": 24.0}), (effect: "blur.gaussian", params: {"sigma": 24.0})])',
        registry=registry,
    )
    image = np.random.default_rng(3).integers(0, 256, (2048, 2048, 4), dtype=np.uint8)
    n, took = ticks_during(lambda: chain.run(image))
    assert took > 0.2, f"the render took {took:.3f} s: too short to tell"
    # With the GIL held for the whole call, the ticker could not run at all in between.
    assert n >= 0.25 * took * 1000 / 2, f"only {n} ticks in {took:.3f} s"


def test_a_python_thread_runs_during_map(registry):
    chain = fxchain.Chain.from_str('(steps: [(effect: "blur.gaussian", params: {"sigma": 16.0})])', registry=registry)
    images = [np.full((1024, 1024, 4), i, np.uint8) for i in range(8)]
    n, took = ticks_during(lambda: list(chain.map(images)))
    assert took > 0.2, f"the batch took {took:.3f} s: too short to tell"
    assert n >= 0.25 * took * 1000 / 2, f"only {n} ticks in {took:.3f} s"
