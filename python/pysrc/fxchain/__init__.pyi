from ._native import (
    Chain as Chain,
    ChainError as ChainError,
    FrameBuffer as FrameBuffer,
    MapIter as MapIter,
    Registry as Registry,
    RenderError as RenderError,
    apply as apply,
    empty as empty,
    pool_stats as pool_stats,
    reads_in_place as reads_in_place,
    save as save,
    threads as threads,
)

__all__: list[str]
