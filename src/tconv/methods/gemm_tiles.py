"""Tiles, buffers and threads shared by the NumPy fast path's arrangements (:mod:`tconv.methods.gemm_numpy`).

The column buffer of a large call never exists whole: it is computed a tile at a time (:func:`tiles`),
into one reused buffer (:func:`buffer`, :func:`matmul`); large col2im blocks are split over threads
(:func:`parallel`), as many as :func:`set_num_threads` allows.
"""

from __future__ import annotations

import functools
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["set_num_threads", "blocks", "tiles", "buffer", "matmul", "parallel", "THREAD_MIN"]

#: Below this many elements per block col2im runs in the calling thread: handing work to threads
#: cost more than it saved (measured: (1, 16, 64, 64) → 16, k3 s2: 0.97 ms alone, 1.95 ms threaded).
THREAD_MIN = 1 << 20
_POOL: ThreadPoolExecutor | None = None
_POOL_PID = 0


_THREADS: int | None = None


def set_num_threads(threads: int | None) -> int | None:
    """Use at most ``threads`` threads in col2im (``None``: the CPU count, at most 8); returns the
    previous setting. The benchmark gives tconv the threads it gives BLAS and the peers, so that
    tconv's threads and OpenBLAS's do not outnumber the cores."""
    global _THREADS
    previous, _THREADS = _THREADS, threads
    return previous


def _workers() -> int:
    return max(1, _THREADS if _THREADS is not None else min(os.cpu_count() or 1, 8))


def _pool() -> ThreadPoolExecutor:
    """The col2im threads, made on first use — and again in a forked child (e.g. a data-loader
    worker), which inherits the pool object but none of its threads."""
    global _POOL, _POOL_PID
    if _POOL is None or _POOL_PID != os.getpid():
        _POOL, _POOL_PID = (
            ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, 8), thread_name_prefix="tconv"),
            os.getpid(),
        )
    return _POOL


def blocks(total: int, per_item: int, budget: int):
    """Split ``range(total)`` into even blocks of items whose ``per_item`` bytes each fit in ``budget``."""
    size = max(1, min(total, budget // max(per_item, 1)))
    count = -(-total // size)
    size = -(-total // count)
    return [(a, min(a + size, total)) for a in range(0, total, size)]


@functools.lru_cache(maxsize=256)
def tiles(n: int, c: int, unit: int, budget: int, max_channels: int | None = None):
    """Tiles ``(n0, n1, c0, c1)`` of images × output channels, ``unit`` bytes per (image, channel).

    Whole images first: a tile with every channel keeps the matrix product's rows (``C·Πk``) many,
    which it needs to run near peak (measured: 3 channels × 16 images ran at a fifth of the speed of
    16 tiles of one image × 32 channels). Channels are split only when one image does not fit, or
    into blocks of at most ``max_channels`` (the channels-last weight copy is bounded that way).
    """
    out = []
    for c0, c1 in blocks(c, 1, c if max_channels is None else max(1, max_channels)):
        if (c1 - c0) * unit <= budget:
            out += [(a, b, c0, c1) for a, b in blocks(n, (c1 - c0) * unit, budget)]
        else:
            out += [(i, i + 1, c0 + d0, c0 + d1) for i in range(n) for d0, d1 in blocks(c1 - c0, unit, budget)]
    return tuple(out)


def buffer(tiles, per_unit: int, dtype) -> np.ndarray | None:
    """One column buffer for the largest tile, reused by every tile: a fresh array per tile would
    page-fault its memory in again each time (measured: a third of the time of 16-tile layers)."""
    if len(tiles) == 1:
        return None
    return np.empty(max((n1 - n0) * (c1 - c0) for n0, n1, c0, c1 in tiles) * per_unit, dtype=dtype)


def matmul(a, b, buf):
    """``a @ b``, written into the front of ``buf`` when there is one (``a`` 2-D, ``b`` 2-D or 3-D)."""
    if buf is None:
        return a @ b
    shape = (a.shape[0], b.shape[1]) if b.ndim == 2 else (b.shape[0], a.shape[0], b.shape[2])
    return np.matmul(a, b, out=buf[: math.prod(shape)].reshape(shape))


def split_range(n: int, parts: int):
    step = -(-n // parts)
    return [(a, min(a + step, n)) for a in range(0, n, step)]


def parallel(fn, n: int, work: int):
    """Run ``fn(a, b)`` on disjoint ranges covering ``range(n)``, on all cores when worth it."""
    parts = min(_workers(), n) if work >= THREAD_MIN else 1
    if parts <= 1:
        fn(0, n)
        return
    for f in [_pool().submit(fn, a, b) for a, b in split_range(n, parts)]:
        f.result()
