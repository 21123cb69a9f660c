"""The ``compiled`` arrangement of the NumPy fast path: polyphase and fused, one compiled loop (numba).

Where a call is small, NumPy's cost is its calls, not its arithmetic: the other arrangements make
5–30 of them at 1–2 µs each, plus the Python around them. This one makes one call into a loop
compiled by numba (the ``fast`` extra), and it is a direct transcription of the definition read
backwards — per output element, the inputs that reach it. On each axis the tap map
(:mod:`tconv.taps`) gives, for output ``o``, the pairs ``(t, i)`` with ``o = i·s + t·d − b``
(its taps ``t`` of phase ``o mod s``, each at ``i = ⌊o/s⌋ − q₀(t)``); with ``L_a(o_a)`` that list::

    y[n, c, o] = Σ_{(t₁,i₁) ∈ L₁(o₁)} Σ_{(t₂,i₂) ∈ L₂(o₂)} … Σ_{ci ∈ group(c)} w[ci, c mod C/G, t] · x[n, ci, i]

Each output element is summed in registers and written once: no column buffer, no col2im pass, no
im2col, no zero padding (the lists hold only pairs inside both arrays). The innermost sum runs over
the output channels of the group (a row of the rearranged weight added into a row of sums), or, for
fewer than :data:`THIN` output channels per group, over its input channels (a dot product,
contiguous in the channels-last copy of the input); the compiler vectorises either. 1-D and 2-D
calls run the 3-D loop with unit axes.

Threads: the loop is compiled without numba's thread pool (no ``prange``) and releases the GIL
(``nogil``); a call of at least :data:`THREAD_MACS` multiply-adds cuts its rows ``(n, o₁)`` into
disjoint blocks run on tconv's own threads (:func:`tconv.methods.gemm_tiles.parallel`, as many as
:func:`tconv.set_num_threads` allows), smaller calls run on the calling thread. So the caller's
setting bounds a call, numba's pool is never started, and tconv never calls
``numba.set_num_threads`` (a process-wide setting). An earlier version ran the blocks with
``prange`` on numba's pool: numba's OpenMP threads spin for a while after a parallel call (as
OpenBLAS's do), and on a busy two-core machine the next NumPy and torch calls ran severalfold slower.

numba is imported on first use only (``import tconv`` never imports it); the loop is compiled once
per dtype and the compiled code is cached on disk (``cache=True``). Floats are summed in an order
of their own (the compiler may reassociate the channel sum), so they equal the other methods to
rounding; integers exactly.
"""

from __future__ import annotations

import functools
import importlib.util
import sys

import numpy as np

from tconv.methods.gemm_tiles import THREAD_MIN, parallel
from tconv.taps import axis_taps, tap_map

__all__ = ["available", "DTYPES", "THREAD_MACS", "THIN", "output_lists", "compiled"]

#: The dtypes the loop is compiled for (float16 reaches the methods as float32: tconv's dtype policy).
DTYPES = ("float32", "float64", "int64")
#: Calls with fewer multiply-adds run on one thread (handing work to threads costs about 10 µs).
THREAD_MACS = 1 << 22


def available() -> bool:
    """Whether numba can be imported; imports it on first use (``sys.modules['numba'] = None`` hides it)."""
    if "numba" in sys.modules:
        return sys.modules["numba"] is not None
    if not _installed():
        return False
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def _installed() -> bool:
    """Whether numba is installed (asked once: a failing import searches the whole path every time)."""
    return importlib.util.find_spec("numba") is not None


@functools.lru_cache(maxsize=1024)
def output_lists(small: int, large: int, kernel: int, stride: int, dilation: int, begin: int):
    """Per output ``o`` of one axis, the pairs ``(t, i)`` that land on it, as three arrays: ``start``
    (``O + 1``), ``tap`` and ``inp``, pair ``j`` of output ``o`` at ``start[o] ≤ j < start[o + 1]``.

    >>> start, tap, inp = output_lists(2, 4, 4, 2, 1, 1)   # k4 s2 p1, 2 → 4
    >>> [[(int(tap[j]), int(inp[j])) for j in range(start[o], start[o + 1])] for o in range(4)]
    [[(1, 0)], [(0, 1), (2, 0)], [(1, 1), (3, 0)], [(2, 1)]]
    """
    ax = axis_taps(small, large, kernel, stride, dilation, begin)
    pairs = sorted(((i + tap.shift) * stride + tap.phase, tap.t, i) for tap in ax.taps for i in range(tap.lo, tap.hi))
    start = np.searchsorted(np.array([o for o, _, _ in pairs], dtype=np.int64), np.arange(large + 1)).astype(np.int64)
    tap = np.array([t for _, t, _ in pairs], dtype=np.int64)
    inp = np.array([i for _, _, i in pairs], dtype=np.int64)
    for a in (start, tap, inp):
        a.flags.writeable = False
    return start, tap, inp


def _loop(x, w, out, s1, t1, i1, s2, t2, i2, s3, t3, i3, r0, r1, zero):  # pragma: no cover - compiled
    """``out[n, G·C/G + c, o₁, o₂, o₃] = Σ_{pairs} Σ_ci w[G, t₁, t₂, t₃, ci, c] · x[n, i₁, i₂, i₃, G·C_in/G + ci]``.

    ``x`` ``(N, I₁, I₂, I₃, C_in)``, ``w`` ``(G, k₁, k₂, k₃, C_in/G, C/G)``, ``out`` ``(N, C, O₁, O₂, O₃)``,
    all C-contiguous; the rows ``r = n·O₁ + o₁`` in ``[r0, r1)``. One output
    row of a group is summed channels-last in ``acc`` (each pair and input channel adds a row of the
    weight into it: the innermost loop runs over output channels, which the compiler vectorises),
    then written once.
    """
    n_img, channels, o1_size, o2_size, o3_size = out.shape
    groups, cig, cog = w.shape[0], w.shape[4], w.shape[5]
    acc = np.empty((o3_size, cog), dtype=out.dtype)  # one output row of one group, channels last
    for r in range(r0, r1):
        n, o1 = r // o1_size, r % o1_size
        for o2 in range(o2_size):
            for gi in range(groups):
                acc[:] = zero
                for o3 in range(o3_size):
                    for a in range(s1[o1], s1[o1 + 1]):
                        for b in range(s2[o2], s2[o2 + 1]):
                            for e in range(s3[o3], s3[o3 + 1]):
                                wt = w[gi, t1[a], t2[b], t3[e]]  # (C_in/G, C/G)
                                xt = x[n, i1[a], i2[b], i3[e]]  # (C_in,)
                                for ci in range(cig):
                                    v = xt[gi * cig + ci]
                                    for co in range(cog):
                                        acc[o3, co] += v * wt[ci, co]
                for co in range(cog):
                    for o3 in range(o3_size):
                        out[n, gi * cog + co, o1, o2, o3] = acc[o3, co]


def _loop_thin(x, w, out, s1, t1, i1, s2, t2, i2, s3, t3, i3, r0, r1, zero):  # pragma: no cover - compiled
    """:func:`_loop` for few output channels per group (a thin product): the innermost sum runs over
    the input channels — one dot product per output element and pair — rather than over the output
    channels, which would leave the vector units a loop of 1–7 iterations. ``w`` is
    ``(G, k₁, k₂, k₃, C/G, C_in/G)``."""
    n_img, channels, o1_size, o2_size, o3_size = out.shape
    cog, cig = w.shape[4], w.shape[5]
    for r in range(r0, r1):
        n, o1 = r // o1_size, r % o1_size
        for o2 in range(o2_size):
            for o3 in range(o3_size):
                for c in range(channels):
                    gi, co = c // cog, c % cog
                    acc = zero
                    for a in range(s1[o1], s1[o1 + 1]):
                        for b in range(s2[o2], s2[o2 + 1]):
                            for e in range(s3[o3], s3[o3 + 1]):
                                xv = x[n, i1[a], i2[b], i3[e], gi * cig : (gi + 1) * cig]
                                wv = w[gi, t1[a], t2[b], t3[e], co]
                                for ci in range(cig):
                                    acc += wv[ci] * xv[ci]
                    out[n, c, o1, o2, o3] = acc


#: Below this many output channels per group the thin loop (:func:`_loop_thin`) runs: measured on
#: float32 thin layers (3 and 1 output channels) 4–6× faster than the wide loop; 16 channels and up slower.
THIN = 8


@functools.lru_cache(maxsize=2)
def _kernel(thin: bool = False):
    """:func:`_loop` (or :func:`_loop_thin`) compiled by numba (imported here, on first use), without
    the GIL while it runs, cached on disk."""
    import numba

    return numba.njit(cache=True, fastmath={"reassoc", "contract"}, nogil=True)(_loop_thin if thin else _loop)


def compiled(x: np.ndarray, weight: np.ndarray, out: np.ndarray, g) -> None:
    """``x`` ``(N, C_in, *i)``, ``weight`` ``(C_in, C/G, *k)`` → ``out`` ``(N, C, *o)``, C-contiguous,
    written in full; one dtype of :data:`DTYPES`, ``N ≥ 1``.

    >>> from tconv.arguments import transpose_geometry
    >>> x = np.array([[[1, 2]]]); w = np.array([[[1, 10, 100]]]); out = np.empty((1, 1, 5), dtype=np.int64)
    >>> compiled(x, w, out, transpose_geometry(x.shape, w.shape, stride=2)); out
    array([[[  1,  10, 102,  20, 200]]])
    """
    n, nd, groups = x.shape[0], g.ndim, g.groups
    cig, cog = g.small_channels // groups, g.large_channels // groups
    pad = 3 - nd  # leading unit axes
    small, kernel = (1,) * pad + g.small, (1,) * pad + g.kernel
    xl = np.ascontiguousarray(np.moveaxis(x.reshape(n, g.small_channels, *small), 1, -1))
    # (G·C_in/G, C/G, *k) → (G, *k, C_in/G, C/G)
    w6 = weight.reshape(groups, cig, cog, *kernel)
    thin = cog < THIN  # (G, *k, C/G, C_in/G): a dot product over input channels per output element
    wl = np.ascontiguousarray(w6.transpose(0, 3, 4, 5, 2, 1) if thin else w6.transpose(0, 3, 4, 5, 1, 2))
    lists = [output_lists(1, 1, 1, 1, 1, 0)] * pad + [
        output_lists(ax.small, ax.large, ax.kernel, ax.stride, ax.dilation, ax.begin) for ax in tap_map(g)
    ]
    large = (1,) * pad + g.large
    rows = n * large[0]
    y = out.reshape(n, g.large_channels, *large)
    kernel, args, zero = _kernel(thin), (*lists[0], *lists[1], *lists[2]), out.dtype.type(0)
    if g.macs < THREAD_MACS:
        kernel(xl, wl, y, *args, 0, rows, zero)
    else:  # disjoint blocks of rows on tconv's threads (the loop runs without the GIL)
        parallel(lambda r0, r1: kernel(xl, wl, y, *args, r0, r1, zero), rows, THREAD_MIN)
