"""fxchain for Python: the same plugins and chains as the ``fxchain`` command, on NumPy arrays.

>>> import fxchain
>>> reg = fxchain.Registry(plugin_dirs=["target/release"])
>>> chain = fxchain.Chain.load("examples/chains/photo.ron", registry=reg)
>>> out = chain.run(image)                       # H×W×4 array, the input's dtype
>>> for out in chain.map(images): ...            # a batch, in order, on the host's threads
>>> blurred = fxchain.apply("blur.gaussian", image, sigma=3.0, registry=reg)

Arrays are read in place when they already have the host's frame layout (see ``reads_in_place``
and ``empty``) and otherwise converted once; outputs are views of host memory (their ``.base`` is
a ``FrameBuffer``). The GIL is released while pixels are computed.
"""

from ._native import (
    Chain,
    ChainError,
    FrameBuffer,
    MapIter,
    Registry,
    RenderError,
    apply,
    empty,
    pool_stats,
    reads_in_place,
    save,
    threads,
)

__all__ = [
    "Chain",
    "ChainError",
    "FrameBuffer",
    "MapIter",
    "Registry",
    "RenderError",
    "apply",
    "empty",
    "pool_stats",
    "reads_in_place",
    "save",
    "threads",
]
