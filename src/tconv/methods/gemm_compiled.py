"""The ``compiled`` arrangement of the NumPy fast path: polyphase and fused, one compiled loop (numba).

Where a call is small, NumPy's cost is its calls, not its arithmetic: the other arrangements make
5–30 of them at 1–2 µs each, plus the Python around them. This one makes one call into a loop
compiled by numba (the ``fast`` extra), and it is a direct transcription of the definition read
backwards — per output element, the inputs that reach it. On each axis the tap map
(:mod:`tconv.taps`) gives, for output ``o``, the pairs ``(t, i)`` with ``o = i·s + t·d − b``
(its taps ``t`` of phase ``o mod s``, each at ``i = ⌊o/s⌋ − q₀(t)``); with ``L_a(o_a)`` that list::

    y[n, c, o] = Σ_{(t₁,i₁) ∈ L₁(o₁)} Σ_{(t₂,i₂) ∈ L₂(o₂)} … Σ_{ci ∈ group(c)} w[ci, c mod C/G, t] · x[n, ci, i]

**The last axis as runs.** Write an output of the last axis as ``o = q·s + r`` (phase ``r``,
position ``q`` in it). The taps of phase ``r`` are ``t_j = t₀ + j·s'`` (``j = 0 … T−1``, ``s' =
s/gcd(s, d)``) with shifts ``q₀ + j·d'`` (``d' = d/gcd(s, d)``), so tap ``t_j`` reaches ``o`` from
input ``i = q − q₀ − j·d'``, kept while ``0 ≤ i < I``: the taps that reach ``o`` are a *run*
``lo(q) ≤ j < hi(q)``, and the innermost two sums are::

    Σ_{j = lo}^{hi − 1} Σ_ci w[ci, c, t₁, t₂, t_j] · x[n, ci, i₁, i₂, q − q₀ − j·d']

Two copies, made once per call inside the compiled call, turn that into one dot product:

* the input channels-last per group, ``x̃[n, g, i₁, i₂, i₃·C_in/G + ci]``: the channels of input
  rows ``i, i + 1, …`` follow one another;
* the weight with each phase's taps in *reverse* order (slot ``T − 1 − j``), channels last,
  ``w̃[g, t₁, t₂, c, slot·C_in/G + ci]``: as ``j`` falls, ``i`` rises.

With ``d' = 1`` (a dilation dividing the stride: every decoder's) the run's inputs and its weights
are then each one contiguous stretch of ``(hi − lo)·C_in/G`` numbers, from ``x̃`` offset ``(q − q₀ −
hi + 1)·C_in/G`` and ``w̃`` offset ``(T − hi)·C_in/G`` (:func:`last_axis` tabulates both per output);
with ``d' > 1``, one stretch of ``C_in/G`` per tap.

**Blocks.** The next output of the phase, ``q + 1``, has the same run wherever neither is cut by an
edge, with every input one row on: the same stretch of ``w̃``, the stretch of ``x̃`` ``C_in/G``
numbers further. So up to 4 such outputs × 4 output channels are summed together: each step of the
dot product loads 4 inputs and 4 weights for 16 multiply-adds, into 16 scalars that the compiler
keeps in vector registers (the stretch loop vectorises; floats may be reassociated). Outputs cut by
an edge go in blocks of 2 or 1, leftover channels one at a time. Each output element is summed in
registers and written once: no column buffer, no col2im pass, no im2col, no zero padding. 1-D and
2-D calls run the 3-D loop with unit axes.

**Cost**, measured on one core (SkylakeX): the copies take about 0.5 ns an element (more for a long
input row or a large weight, copied in tiles); each stretch ends with a reduction of the 16
vector accumulators, about 20 ns, so the loop runs 10–25 GFLOP/s on stretches of 8–16 numbers and
55–90 on stretches of 64–512. OpenBLAS reaches 100–150, so the loop wins where NumPy's calls and
col2im passes cost more than its arithmetic: :func:`wins` says where, measured.

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
import math
import sys

import numpy as np

from tconv.methods.gemm_tiles import THREAD_MIN, parallel
from tconv.taps import axis_taps, tap_map

__all__ = [
    "available",
    "DTYPES",
    "SERVED",
    "THREAD_MACS",
    "output_lists",
    "axis_lists",
    "last_axis",
    "compiled",
    "wins",
]

#: The dtypes the loop is compiled for (float16 reaches the methods as float32: tconv's dtype policy).
DTYPES = ("float32", "float64", "int64")
#: :data:`DTYPES` as NumPy dtypes: whether a call's arrays are served is a set lookup.
SERVED = frozenset(np.dtype(d) for d in DTYPES)
#: Calls with fewer multiply-adds run on one thread (handing work to threads costs about 10 µs).
THREAD_MACS = 1 << 22
#: Float calls of at most this many multiply-adds take the loop (:func:`wins`): NumPy's calls dominate them.
TINY_MACS = 1 << 16
#: Shallow float calls take the loop up to this many multiply-adds (:func:`wins`); past it BLAS's
#: product and the compiled col2im (:func:`tconv.methods.gemm_col2im.col2im`) measured faster.
SHALLOW_MACS = 1 << 23


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


def wins(g, dtype_name: str) -> bool:
    """Whether the compiled loop measured faster than the best NumPy arrangement for geometry ``g``.

    Integers: always (NumPy multiplies integer matrices without BLAS; the loop measured 1.3–14×
    faster on every layer timed, docs/performance.md). Floats: where NumPy's calls and col2im cost
    more than the loop's lower arithmetic rate (module docstring), i.e. where, with ``C_in/G`` and
    ``C/G`` the input and output channels of a group and ``Πk/Πs`` the taps per output::

        macs ≤ 2¹⁶                                  a tiny call: NumPy's 5–30 calls dominate
        or 8 ≤ C_in/G ≤ 64                          stretches long enough, BLAS not yet at its best
           and (C_in/G)·(C/G) ≤ 1024                the weight copy small
           and Πk/Πs ≥ 1.5                          taps overlap: NumPy pays a col2im pass
           and (C/G ≥ 8 or macs ≤ 2¹⁷)              a thin product only when small
           and macs ≤ 2²³                           past it, BLAS + the compiled col2im win

    Fitted on float32, one thread, CPU time, on a loaded 2-core SkylakeX (OpenBLAS 0.3.30), to 35
    layers — the grid's 7 ``small`` and 5 ``unet3d`` layers, 3 thin layers (16·64·32² → 3,
    1·128·64² → 1, 4·256·16² → 4) and 20 random ones (``--random 20 --seed 7``): right on 32 of
    them (compiled / best NumPy arrangement 0.52–0.93 where it says yes, 0.87–7 where it says no);
    the layers it misses are d3-64x16 (says yes, 1.14×), r5 (16·8·1024 → 4, k16 s8: says no,
    0.87×) and r13 (2·64·16 → 64, k3 s2: says no, 0.90×); a rerun: 33 of 35 (d3-64x16 1.08×). On 20
    layers it was not fitted to (``--random 20 --seed 11``): right on 18, the worst it picks 1.02×
    (1·16·256 → 3, k4 s2), the one it misses 0.95× (16·64·32² → 64, k4 s1). The loop loses on ``k = s`` layers past
    the tiny (no col2im to save: NumPy's is one product and one copy), on 128 and more input
    channels (BLAS near its peak) and on large thin products (the copy of the input dominates).
    float64 takes the float32 rule: checked on six grid layers (s-16x8, s-32x8b4, s-64x4, d4-32x16,
    d3-64x16, d2-256x8: compiled / best NumPy 0.52–1.35), right on all six. The weight bound was 2048
    in that fit; ``tconv bench --tune --grid --threads 1 --cpu-time`` on the whole grid then found
    three more layers with 64 input and 32 output channels where the loop lost (u4-64x64b4 1.19×,
    hifigan-4 1.42×, d3-64x16 1.20×) and one where it won (s-1d-64x32, 0.89×), hence 1024. The
    lower bound was 16: the same command on 100 random layers (``--random 40 --seed 11``,
    ``--random 60 --seed 12``) found the loop fastest on every layer with 8 input channels per group
    that the other conditions admit (0.36–0.98 of the best NumPy arrangement), hence 8. Then
    ``channels_first``'s col2im became one compiled pass (:mod:`tconv.methods.gemm_col2im`), and the same commands on
    the grid and ``--random 40 --seed 11`` found the loop slower than it on every layer past 2²³
    multiply-adds (1.02–1.23×: u4-32x128, u3-32x32b16, d4-32x16, and 16 and 32 channel layers of the
    draw) and still faster at and below (0.63–0.98×: the draw's 2·16·8³ → 8 and 4·32·8² → 32, k4 s2,
    and s-32x8b4), hence the last bound.

    >>> from tconv.arguments import transpose_geometry
    >>> wins(transpose_geometry((1, 16, 8, 8), (16, 16, 4, 4), stride=2, padding=1), "float32")
    True
    >>> wins(transpose_geometry((1, 256, 8, 8, 8), (256, 128, 2, 2, 2), stride=2), "float32")
    False
    """
    if np.dtype(dtype_name).kind in "iu":
        return True
    cig, cog = g.small_channels // g.groups, g.large_channels // g.groups
    macs = g.macs
    if macs <= TINY_MACS:
        return True
    overlap = g.taps / math.prod(g.stride)
    shallow = 8 <= cig <= 64 and cig * cog <= 1024 and overlap >= 1.5 and (cog >= 8 or macs <= 1 << 17)
    return shallow and macs <= SHALLOW_MACS


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


@functools.lru_cache(maxsize=256)
def axis_lists(g) -> tuple:
    """:func:`output_lists` of each spatial axis of ``g``, after leading unit axes that make it 3-D
    (the compiled kernels all run the 3-D form): three ``(start, tap, inp)`` triples."""
    unit = output_lists(1, 1, 1, 1, 1, 0)
    return (unit,) * (3 - g.ndim) + tuple(
        output_lists(ax.small, ax.large, ax.kernel, ax.stride, ax.dilation, ax.begin) for ax in tap_map(g)
    )


@functools.lru_cache(maxsize=1024)
def last_axis(small: int, large: int, kernel: int, stride: int, dilation: int, begin: int):
    """The last axis as runs (module docstring): per output, the run of taps that land on it and
    their input rows. Returns ``order`` (the outputs, phase by phase, then those no tap reaches) and
    per position ``p`` in it: ``x0`` (the run's first input row), ``w0`` (its first slot in
    ``slots``), ``count`` (its taps, ``hi − lo``) and ``chain`` (how many outputs from ``p`` on have
    this run shifted by 0, 1, 2, … input rows: the outputs a block may take); ``step`` (``d'``, the
    input rows between a run's taps) and ``slots`` (the taps kept, each phase's in reverse order:
    the weight copy's order). ``x0``, ``w0``, ``count`` unsigned (:func:`tconv.methods.gemm_compiled_loop.loop`).

    >>> order, x0, w0, count, chain, step, slots = last_axis(2, 4, 4, 2, 1, 1)   # k4 s2 p1, 2 → 4
    >>> order.tolist(), x0.tolist(), w0.tolist(), count.tolist(), chain.tolist(), step, slots.tolist()
    ([0, 2, 1, 3], [0, 0, 0, 1], [1, 0, 2, 2], [1, 2, 2, 1], [1, 1, 1, 1], 1, [3, 1, 2, 0])
    """
    ax = axis_taps(small, large, kernel, stride, dilation, begin)
    slots: list[int] = []
    order: list[int] = []
    x0: list[int] = []
    w0: list[int] = []
    count: list[int] = []
    step = 1
    for ph in ax.phases:
        first = len(slots)
        slots += [tap.t for tap in reversed(ph.taps)]  # reversed: the input rows of a run ascend
        n, b = len(ph.taps), ph.taps[0].shift  # tap j has shift b + j·d', input row q − b − j·d'
        step = ph.shift_step
        for q in range(ph.size):
            hi = min(n, (q - b) // step + 1)  # taps j < hi: row q − b − j·d' ≥ 0
            lo = max(0, -(-(q - b - small + 1) // step))  # taps j ≥ lo: row < I
            order.append(q * ax.stride + ph.phase)
            k = max(0, hi - lo)
            count.append(k)
            x0.append(q - b - (hi - 1) * step if k else 0)
            w0.append(first + n - hi if k else 0)
    covered = {o for o in order}
    for o in range(large):  # outputs of a phase no tap feeds: zero
        if o not in covered:
            order.append(o)
            x0.append(0)
            w0.append(0)
            count.append(0)
    pair = [
        bool(p + 1 < len(order))
        and count[p] > 0
        and order[p + 1] == order[p] + ax.stride
        and (count[p + 1], w0[p + 1], x0[p + 1]) == (count[p], w0[p], x0[p] + 1)
        for p in range(len(order))
    ]
    arrays = [np.array(order, dtype=np.int64)] + [np.array(a, dtype=np.uint64) for a in (x0, w0, count)]
    chain = [1] * len(order)  # outputs from p on whose runs are those of p shifted by 1, 2, … input rows
    for p in range(len(order) - 2, -1, -1):
        if pair[p]:
            chain[p] = chain[p + 1] + 1
    arrays.append(np.array(chain, dtype=np.int64))
    for a in arrays:
        a.flags.writeable = False
    slot = np.array(slots, dtype=np.int64)
    slot.flags.writeable = False
    return (*arrays, step, slot)


@functools.lru_cache(maxsize=1)
def _kernel():
    """:func:`tconv.methods.gemm_compiled_loop.loop` compiled by numba (imported here, on first use),
    without the GIL while it runs, cached on disk."""
    import numba

    from tconv.methods.gemm_compiled_loop import loop

    return numba.njit(cache=True, fastmath={"reassoc", "contract"}, nogil=True)(loop)


def compiled(x: np.ndarray, weight: np.ndarray, out: np.ndarray, g) -> None:
    """``x`` ``(N, C_in, *i)``, ``weight`` ``(C_in, C/G, *k)`` → ``out`` ``(N, C, *o)``, C-contiguous,
    written in full; one dtype of :data:`DTYPES`, ``N ≥ 1``.

    >>> from tconv.arguments import transpose_geometry
    >>> x = np.array([[[1, 2]]]); w = np.array([[[1, 10, 100]]]); out = np.empty((1, 1, 5), dtype=np.int64)
    >>> compiled(x, w, out, transpose_geometry(x.shape, w.shape, stride=2)); out
    array([[[  1,  10, 102,  20, 200]]])
    """
    n = x.shape[0]
    xs, ws, xls, wls, ys, lists, slots, small_call = _layout(g)
    xin, win = np.ascontiguousarray(x).reshape(n, *xs), np.ascontiguousarray(weight).reshape(ws)
    xl, wl = np.empty((n, *xls), dtype=x.dtype), np.empty(wls, dtype=x.dtype)
    args, kernel, zero, rows = (xl, wl, out.reshape(n, *ys), *lists), _kernel(), out.dtype.type(0), n * ys[1]
    if small_call:
        kernel(xin, win, slots, True, *args, 0, rows, zero)
    else:  # disjoint blocks of rows on tconv's threads (the loop runs without the GIL)
        kernel(xin, win, slots, True, *args, 0, 0, zero)
        parallel(lambda r0, r1: kernel(xin, win, slots, False, *args, r0, r1, zero), rows, THREAD_MIN)


@functools.lru_cache(maxsize=256)
def _layout(g):
    """Per geometry (cached): the 3-D shapes of the input, the weight, their copies and the output
    (without ``N``), the pair lists of the first two axes and the runs of the last (:func:`last_axis`),
    and whether the call runs on one thread (:data:`THREAD_MACS`)."""
    groups, nd = g.groups, g.ndim
    cig, cog = g.small_channels // groups, g.large_channels // groups
    pad = 3 - nd  # leading unit axes
    small, kernel, large = (1,) * pad + g.small, (1,) * pad + g.kernel, (1,) * pad + g.large
    axes = tap_map(g)
    last = axes[-1]
    order, x0, w0, count, chain, step, slots = last_axis(
        last.small, last.large, last.kernel, last.stride, last.dilation, last.begin
    )
    lists = axis_lists(g)
    return (
        (g.small_channels, *small),
        (g.small_channels, cog, *kernel),
        (groups, small[0], small[1], small[2] * cig),  # x's copy: a run of input rows is one slice
        (groups, kernel[0], kernel[1], cog, len(slots) * cig),  # the weight's: last-axis taps in run order
        (g.large_channels, *large),
        (*lists[0], *lists[1], order, x0, w0, count, chain, step, cig),
        slots,
        g.macs < THREAD_MACS,  # one thread
    )
