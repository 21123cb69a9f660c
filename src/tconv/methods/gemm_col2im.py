"""col2im compiled by numba (the ``fast`` extra): the second step of the NumPy fast path's
``channels_first`` and ``channels_last`` arrangements (:mod:`tconv.methods.gemm_numpy`) in one pass.

After the product, col2im sums each output element's taps from the column buffer::

    y[n, c, o] = Σ_{(t, i) : o = i·s + t·d − b} cols[n, c, t, i]

NumPy does it as ``Πk`` slice additions, each a read-modify-write pass over part of the output
(plus, channels-first, one strided copy per phase; channels-last, a transpose at the end). Here each
output element is summed once, from the pairs ``(t, i)`` of the tap map (:mod:`tconv.taps`,
:func:`tconv.methods.gemm_compiled.output_lists`), and written once:

* :func:`col2im`, channels-first columns ``(m, c, Πk, *I)``: per output row, every tap's row of
  columns is added into a phase-major row buffer (contiguous additions, which vectorise), then the
  row is written to its strided positions (:func:`tconv.methods.gemm_compiled_loop.col2im`);
* :func:`col2im_last`, channels-last columns ``(m, *I, Πk, c)``: per output position, each tap's
  ``c`` channels (contiguous) are added into one vector, written to the position in every channel
  (:func:`tconv.methods.gemm_compiled_loop.col2im_last`).

Measured: channels-first col2im alone 2–2.5× faster than NumPy's slice additions on one thread
(3.3 against 8.5 ms for the 32 MiB of columns of (8, 64, 32, 32) → 64, k4 s2); channels-last whole
calls up to 1.2× faster at two threads ((32, 256, 8, 8) → 128, k4 s2: 10.9 against 12.9 ms). Both
kernels run without the GIL; a large block's rows go to tconv's threads
(:func:`tconv.methods.gemm_tiles.parallel`), as :mod:`tconv.methods.gemm_compiled`'s loop does, and
for the same reasons never to numba's own pool. Integers are summed exactly, floats to rounding (the
taps in an order of their own).
"""

from __future__ import annotations

import functools

import numpy as np

from tconv.methods.gemm_compiled import SERVED, available, axis_lists
from tconv.methods.gemm_tiles import parallel
from tconv.taps import tap_map

__all__ = ["has_col2im", "col2im", "col2im_last"]


def has_col2im(dtype) -> bool:
    """Whether :func:`col2im` serves arrays of ``dtype``: numba installed and a dtype of
    :data:`tconv.methods.gemm_compiled.DTYPES`.

    Asked once or twice per call, so kept cheap (a small call's budget is microseconds): a set
    lookup, not the dtype's name.
    """
    return np.dtype(dtype) in SERVED and available()


def col2im(cols: np.ndarray, block: np.ndarray, g) -> None:
    """col2im, compiled: ``cols`` ``(m, c, Πk, *I)`` summed into ``block`` ``(m, c, *O)``, written in full.

    The ``channels_first`` arrangement's second step (:mod:`tconv.methods.gemm_numpy`) in one
    compiled pass: per output row, every tap's columns added into a phase-major row buffer, then
    the row written once (:func:`tconv.methods.gemm_compiled_loop.col2im`). NumPy's slice
    additions make ``Πk`` passes over the output and one more per phase for the strided copy; this
    reads the columns once and writes the output once. The spatial axes of both arrays must be
    C-contiguous (the others may be strided: a folded product's columns are ``(c, Πk, m, *I)`` in
    memory); one dtype of :data:`tconv.methods.gemm_compiled.DTYPES`. Rows ``(m, c)`` go to tconv's threads when the block is
    large (:func:`tconv.methods.gemm_tiles.parallel`).

    >>> from tconv.arguments import transpose_geometry
    >>> g = transpose_geometry((1, 1, 2), (1, 1, 3), stride=2)
    >>> cols = np.array([[[[1., 2.], [10., 20.], [100., 200.]]]]); out = np.empty((1, 1, 5))
    >>> col2im(cols, out, g); out
    array([[[  1.,  10., 102.,  20., 200.]]])
    """
    m, c = block.shape[:2]
    if cols.size and block.size:
        cs, os_ = (s // cols.itemsize for s in cols.strides[:3]), (s // block.itemsize for s in block.strides[:2])
        kernel, args = _col2im_kernel(), (_flat(cols), *cs, _flat(block), *os_, c, *_col2im_layout(g))
        # disjoint rows on tconv's threads when the block is large (the kernel runs without the GIL)
        parallel(lambda r0, r1: kernel(*args, r0, r1), m * c, cols.size)
    else:
        block[...] = 0


def col2im_last(cols: np.ndarray, block: np.ndarray, g) -> None:
    """col2im of channels-last columns, compiled: ``cols`` ``(m, *I, Πk, c)`` (C-contiguous) summed
    into the channels-first ``block`` ``(m, c, *O)`` (spatial axes C-contiguous), written in full.

    The ``channels_last`` arrangement's second step (:mod:`tconv.methods.gemm_numpy`): per output
    position, each tap that reaches it adds its ``c`` contiguous channels into one vector, written
    to the position of every channel (:func:`tconv.methods.gemm_compiled_loop.col2im_last`). NumPy
    instead adds each of the ``Πk`` taps into a channels-last buffer and transposes it at the end.
    Rows of output positions go to tconv's threads when the block is large.

    >>> from tconv.arguments import transpose_geometry
    >>> g = transpose_geometry((1, 1, 2), (1, 1, 3), stride=2)
    >>> cols = np.array([[[[1.], [10.], [100.]], [[2.], [20.], [200.]]]]); out = np.empty((1, 1, 5))
    >>> col2im_last(cols, out, g); out
    array([[[  1.,  10., 102.,  20., 200.]]])
    """
    m, c = block.shape[:2]
    if cols.size and block.size:
        dims, lists = _last_layout(g)
        os_ = (s // block.itemsize for s in block.strides[:2])
        args = (cols.reshape(-1), _flat(block), *os_, np.append(dims, c), *lists)
        kernel = _col2im_last_kernel()
        parallel(lambda r0, r1: kernel(*args, r0, r1), m * int(dims[6] * dims[7]), cols.size)
    else:
        block[...] = 0


def _flat(a: np.ndarray) -> np.ndarray:
    """The memory of the view ``a`` (non-negative strides) from its first element to its last, as
    a 1-D view: what the compiled kernels index with offsets of their own."""
    span = 1 + sum((n - 1) * s for n, s in zip(a.shape, a.strides)) // a.itemsize
    return np.lib.stride_tricks.as_strided(a, shape=(span,), strides=(a.itemsize,))


@functools.lru_cache(maxsize=1)
def _col2im_kernel():
    """:func:`tconv.methods.gemm_compiled_loop.col2im` compiled by numba, without the GIL, cached on disk."""
    import numba

    from tconv.methods.gemm_compiled_loop import col2im as loop

    return numba.njit(cache=True, nogil=True)(loop)


@functools.lru_cache(maxsize=256)
def _col2im_layout(g):
    """Per geometry (cached): ``k, I, O`` on three axes (leading unit axes for 1-D and 2-D), the
    pair lists of the first two axes and the last axis's kept taps, as the kernel reads them."""
    pad = 3 - g.ndim
    axes = tap_map(g)
    dims = np.array([*(1,) * pad, *g.kernel, *(1,) * pad, *g.small, *(1,) * pad, *g.large], dtype=np.int64)
    lists = axis_lists(g)
    last = axes[-1]
    taps = [
        np.array([getattr(tap, f) for tap in last.taps], dtype=np.int64) for f in ("t", "phase", "shift", "lo", "hi")
    ]
    for a in (dims, *taps):
        a.flags.writeable = False
    return (dims, *lists[0], *lists[1], *taps, last.stride)


@functools.lru_cache(maxsize=1)
def _col2im_last_kernel():
    """:func:`tconv.methods.gemm_compiled_loop.col2im_last` compiled by numba, without the GIL, cached on disk."""
    import numba

    from tconv.methods.gemm_compiled_loop import col2im_last as loop

    return numba.njit(cache=True, nogil=True)(loop)


@functools.lru_cache(maxsize=256)
def _last_layout(g):
    """Per geometry (cached): ``k, I, O`` on three axes and the pair lists of all three."""
    return _col2im_layout(g)[0], tuple(a for triple in axis_lists(g) for a in triple)
