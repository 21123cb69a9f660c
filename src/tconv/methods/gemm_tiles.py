"""Tiles, buffers and threads shared by the NumPy fast path's arrangements (:mod:`tconv.methods.gemm_numpy`).

The column buffer of a large call never exists whole: it is computed a tile at a time (:func:`tiles`),
into one reused buffer (:func:`buffer`, :func:`matmul`). Threads, as many as
:func:`tconv.set_num_threads` allows, work in one of two ways:

* **Shared** (:func:`parallel`), the default: BLAS threads the product as it is set to, and the
  col2im additions of a large block are split over tconv's threads afterwards.
* **Split** (:func:`split`, :func:`run_split`): a large call is cut into disjoint parts (blocks of
  images, or of output channels), one per thread; each thread runs its part's products *and* its
  col2im. Only where BLAS already runs single-threaded — because the caller set it so, e.g. with
  ``threadpoolctl.threadpool_limits(1, "blas")`` or ``OPENBLAS_NUM_THREADS=1`` — since BLAS's thread
  count is one setting for the whole process, and a tconv call must not change what another thread of
  the process sees. Reading it needs ``threadpoolctl`` (the ``fast`` extra); without it calls are not split.

Why split: after a product OpenBLAS's worker thread spins for a while (about 0.1 s by default) before
it sleeps, so on two cores a col2im that follows a threaded product shares a core with a spinning
thread and runs at about the speed of one thread. Split, every thread does useful work all the time
(``python -m tconv.bench.threads`` measures the two ways against each other, docs/performance.md).
"""

from __future__ import annotations

import functools
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from tconv.resources import get_num_threads

__all__ = ["blocks", "tiles", "buffer", "matmul", "parallel", "split", "run_split", "THREAD_MIN", "WORKSPACE_BYTES"]

#: Largest column-buffer block (bytes), the tile size: a quarter of a 32 MiB L3 cache, so that col2im
#: reads the block back from cache. Measured on the diffusion layers: 8–16 MiB blocks 10 % faster
#: than 32 MiB ones, 4 MiB ones slower (the matrix products get too thin).
WORKSPACE_BYTES = 8 * 2**20

#: Below this many elements per block col2im runs in the calling thread: handing work to threads
#: cost more than it saved (measured: (1, 16, 64, 64) → 16, k3 s2: 0.97 ms alone, 1.95 ms threaded).
THREAD_MIN = 1 << 20
_POOL: ThreadPoolExecutor | None = None
_POOL_KEY = (0, 0)  # (process id, workers) the pool was made for
_POOL_LOCK = threading.Lock()


def _workers() -> int:
    if getattr(_LOCAL, "part", False):  # inside one part of a split call: that thread only
        return 1
    return get_num_threads()


def _pool(workers: int) -> ThreadPoolExecutor:
    """tconv's threads, made on first use — again when more are asked for than it has, and in a
    forked child (e.g. a data-loader worker), which inherits the pool object but none of its threads."""
    global _POOL, _POOL_KEY
    with _POOL_LOCK:
        pid, size = _POOL_KEY
        if _POOL is None or pid != os.getpid() or size < workers:
            _POOL = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tconv")
            _POOL_KEY = (os.getpid(), workers)
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
    pool = _pool(parts)
    for f in [pool.submit(fn, a, b) for a, b in split_range(n, parts)]:
        f.result()


#: Split calls of at least this many multiply-adds over threads (:func:`split`). Measured at two
#: threads: (32, 128, 16) → 64, k4 s2 (17 M) ran 0.38 ms shared and 0.53 ms split (the hand-over
#: costs tens of µs); every grid layer from (16, 64, 32, 32) → 3, k4 s2 (50 M) up gained or tied.
SPLIT_MIN = 1 << 25
#: A part of images keeps at least this many product columns (images × input positions); fewer and
#: the product gets thin, so the call is split by output channels instead (measured: WaveGAN's
#: (4, 1024, 16) split into two images each ran 0.87× the shared speed).
SPLIT_COLUMNS = 256
_LOCAL = threading.local()


@functools.lru_cache(maxsize=1)
def _blas_controllers() -> tuple:
    """threadpoolctl's controllers of the loaded BLAS libraries, or ``()`` without threadpoolctl.
    tconv only *reads* their thread counts (:func:`blas_single_threaded`), never sets them."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return ()
    return tuple(ThreadpoolController().select(user_api="blas").lib_controllers)


def blas_single_threaded() -> bool:
    """Whether every loaded BLAS runs one thread now (False when that cannot be read)."""
    controllers = _blas_controllers()
    return bool(controllers) and all(lib.get_num_threads() == 1 for lib in controllers)


def split(n: int, c: int, columns: int, macs: int, by_channels: bool = True) -> tuple[tuple[int, int, int, int], ...]:
    """Disjoint parts ``(n0, n1, c0, c1)`` of a call — one per thread — or ``()`` to run it whole.

    ``n`` images of ``columns`` input positions each, ``c`` output channels, ``macs`` multiply-adds.
    Blocks of images when each part keeps :data:`SPLIT_COLUMNS` product columns, else blocks of
    output channels (whose weight columns are views) unless ``by_channels`` is false — the ``phases``
    arrangement's im2col is of the input, which every block of channels would build again (measured:
    (1, 32, 128, 128) → 32, k4 s2 ran 0.64× the shared speed split by channels). Nothing below
    :data:`SPLIT_MIN`, on one thread, inside a part, or unless BLAS runs single-threaded already (the
    caller's setting: tconv never changes it).
    """
    if macs < SPLIT_MIN:
        return ()
    workers = _workers()
    if workers < 2 or not blas_single_threaded():
        return ()
    if n >= workers and n // workers * columns >= SPLIT_COLUMNS:
        return tuple((a, b, 0, c) for a, b in split_range(n, workers))
    if by_channels and c >= 2 * workers:
        return tuple((0, n, a, b) for a, b in split_range(c, workers))
    return ()


def _part(fn, part) -> None:
    _LOCAL.part = True
    try:
        fn(*part)
    finally:
        _LOCAL.part = False


def run_split(fn, parts) -> None:
    """``fn(n0, n1, c0, c1)`` for every part of :func:`split`, one thread each (the calling thread
    takes the first); returns when all are done."""
    futures = [_pool(len(parts)).submit(_part, fn, part) for part in parts[1:]]
    try:
        _part(fn, parts[0])
    finally:
        for f in futures:
            f.exception()  # wait for every part, even when one failed
    for f in futures:
        f.result()
