"""Type stubs of the compiled module ``fxchain._native`` (re-exported by ``fxchain``)."""

from collections.abc import Iterable, Iterator, Mapping
from os import PathLike
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

#: What a chain accepts as an image: a uint8, uint16 or float32 array (H×W, H×W×3 or H×W×4),
#: a PIL image (anything ``numpy.asarray`` turns into such an array) or a file path.
Image: TypeAlias = npt.NDArray[np.uint8] | npt.NDArray[np.uint16] | npt.NDArray[np.float32] | str | PathLike[str] | Any
#: Element types of outputs.
DType: TypeAlias = type[np.uint8] | type[np.uint16] | type[np.float32] | np.dtype[Any] | Literal["uint8", "uint16", "float32"]
#: An output: H×W×4 in the requested dtype, or a dict of them by output name.
Output: TypeAlias = npt.NDArray[Any] | dict[str, npt.NDArray[Any]]
Quality: TypeAlias = Literal["fast", "balanced", "quality"]
Precision: TypeAlias = Literal["u8", "f32"]

class ChainError(Exception):
    """A chain that does not parse or validate."""

    #: Every problem: ``{"file", "line", "column", "message", "help"}`` (line and column are
    #: 1-based, as ``fxchain chain check`` prints them; ``None`` when the problem has no place).
    diagnostics: list[dict[str, Any]]

class RenderError(RuntimeError):
    """A render that failed: a plugin error or panic, or a plan the host refused."""

class Registry:
    """Plugins loaded once, shared by every chain that uses them."""

    def __init__(self, plugin_dirs: Iterable[str | PathLike[str]] | None = None, default_plugins: bool = True) -> None: ...
    def effects(self) -> list[dict[str, Any]]:
        """Every effect's schema as a plain dict (id, kind, params, variants, library, ...)."""
    def reload(self) -> list[str]:
        """Reload changed libraries (the same checks as ``fxchain watch``); one line per change."""
    @property
    def errors(self) -> list[str]:
        """Libraries that failed to load, with why."""
    @property
    def dirs(self) -> list[str]:
        """The folders searched."""

class Chain:
    """A chain validated against a registry."""

    @staticmethod
    def load(path: str | PathLike[str], registry: Registry | None = None) -> Chain:
        """Read and validate a chain file (raises ``ChainError``)."""
    @staticmethod
    def from_str(text: str, registry: Registry | None = None, name: str = "<string>") -> Chain:
        """Validate a chain given as text; ``name`` is the file name in diagnostics."""
    @property
    def inputs(self) -> list[str]: ...
    @property
    def outputs(self) -> list[str]: ...
    @property
    def registry(self) -> Registry: ...
    def run(
        self,
        image: Image | None = None,
        *,
        inputs: Mapping[str, Image] | None = None,
        set: Mapping[str, Any] | None = None,
        quality: Quality | None = None,
        precision: Precision | None = None,
        dtype: DType | None = None,
    ) -> Output:
        """Render on ``image`` (and named ``inputs``); the GIL is released meanwhile."""
    def map(
        self,
        images: Iterable[Image],
        workers: int | None = None,
        *,
        set: Mapping[str, Any] | None = None,
        quality: Quality | None = None,
        precision: Precision | None = None,
        dtype: DType | None = None,
    ) -> MapIter:
        """Render every image, in order, on the host's thread pool."""

class MapIter(Iterator[Output]):
    def __iter__(self) -> MapIter: ...
    def __next__(self) -> Output: ...

class FrameBuffer:
    """Host frame memory owning an output array (its ``.base``)."""

    @property
    def address(self) -> int: ...
    @property
    def nbytes(self) -> int: ...

def apply(
    effect: str,
    image: Image | None = None,
    *,
    registry: Registry | None = None,
    quality: Quality | None = None,
    dtype: DType | None = None,
    **params: Any,
) -> Output:
    """Apply one effect with ``params`` as its parameters."""

def empty(height: int, width: int, dtype: DType | None = None) -> npt.NDArray[Any]:
    """A zeroed H×W×4 uint8 or float32 array in host frame memory (read in place by chains)."""

def reads_in_place(array: npt.NDArray[Any]) -> bool:
    """Whether a chain of the array's dtype reads it without a copy."""

def pool_stats(reset_peak: bool = False, budget: int | None = None) -> dict[str, int]:
    """Counters of the host's frame memory pool."""

def save(image: Image, path: str | PathLike[str], *, jpeg_quality: int = 90) -> None:
    """Write an image with the host's encoder, atomically (as ``fxchain run``/``batch`` do)."""

def threads() -> int:
    """Threads in the host's pool."""
