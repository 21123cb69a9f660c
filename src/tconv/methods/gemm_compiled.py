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

__all__ = ["available", "DTYPES", "THREAD_MACS", "output_lists", "last_axis", "compiled", "wins"]

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


def wins(g, dtype_name: str) -> bool:
    """Whether the compiled loop measured faster than the best NumPy arrangement for geometry ``g``.

    Integers: always (NumPy multiplies integer matrices without BLAS; the loop measured 1.3–14×
    faster on every layer timed, docs/performance.md). Floats: where NumPy's calls and col2im cost
    more than the loop's lower arithmetic rate (module docstring), i.e. where, with ``C_in/G`` and
    ``C/G`` the input and output channels of a group and ``Πk/Πs`` the taps per output::

        macs ≤ 2¹⁶                                  a tiny call: NumPy's 5–30 calls dominate
        or 16 ≤ C_in/G ≤ 64                         stretches long enough, BLAS not yet at its best
           and (C_in/G)·(C/G) ≤ 2048                the weight copy small
           and Πk/Πs ≥ 1.5                          taps overlap: NumPy pays a col2im pass
           and (C/G ≥ 8 or macs ≤ 2¹⁷)              a thin product only when small

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
    d3-64x16, d2-256x8: compiled / best NumPy 0.52–1.35), right on all six.

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
    if macs <= 1 << 16:
        return True
    overlap = g.taps / math.prod(g.stride)
    return 16 <= cig <= 64 and cig * cog <= 2048 and overlap >= 1.5 and (cog >= 8 or macs <= 1 << 17)


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


@functools.lru_cache(maxsize=1024)
def last_axis(small: int, large: int, kernel: int, stride: int, dilation: int, begin: int):
    """The last axis as runs (module docstring): per output, the run of taps that land on it and
    their input rows. Returns ``order`` (the outputs, phase by phase, then those no tap reaches) and
    per position ``p`` in it: ``x0`` (the run's first input row), ``w0`` (its first slot in
    ``slots``), ``count`` (its taps, ``hi − lo``) and ``chain`` (how many outputs from ``p`` on have
    this run shifted by 0, 1, 2, … input rows: the outputs a block may take); ``step`` (``d'``, the
    input rows between a run's taps) and ``slots`` (the taps kept, each phase's in reverse order:
    the weight copy's order). ``x0``, ``w0``, ``count`` unsigned (:func:`_loop`).

    >>> order, x0, w0, count, chain, step, slots = last_axis(2, 4, 4, 2, 1, 1)   # k4 s2 p1, 2 → 4
    >>> order.tolist(), x0.tolist(), w0.tolist(), count.tolist(), chain.tolist(), step, slots.tolist()
    ([0, 2, 1, 3], [0, 0, 0, 1], [1, 0, 2, 2], [1, 2, 2, 1], [1, 1, 1, 1], 1, [3, 1, 2, 0])
    """
    ax = axis_taps(small, large, kernel, stride, dilation, begin)
    slots, order, x0, w0, count = [], [], [], [], []
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


def _loop(
    xin, win, slots, prepare, x, w, out, s1, t1, i1, s2, t2, i2, order, x0, w0, count, chain, step_, cig_, r0, r1, zero
):  # pragma: no cover - compiled
    """``out[n, G·C/G + c, o₁, o₂, o₃] = Σ_{(t₁,i₁)} Σ_{(t₂,i₂)} Σ_{run of o₃} Σ_ci w · x``, rows ``[r0, r1)``.

    ``x`` ``(N, G, I₁, I₂, I₃·C_in/G)``, ``w`` ``(G, k₁, k₂, C/G, K₃·C_in/G)`` (last-axis taps in the
    order of :func:`last_axis`), ``out`` ``(N, C, O₁, O₂, O₃)``, C-contiguous; with ``prepare``,
    first copies ``xin`` ``(N, C_in, I₁, I₂, I₃)`` into ``x`` and ``win`` ``(C_in, C/G, k₁, k₂, k₃)``
    into ``w``. Blocks of 4, 2 or 1 outputs (``chain``) × 4 or 1 output channels, each a dot product
    over the run summed in scalars (registers). The stretch offsets are unsigned: numba tests a
    signed index for a negative one, and with that test in it a stretch loop ran 4× slower (measured
    alone). No array views are made in the loop either (each counts a reference): the first version,
    which sliced and indexed signed, ran 2–5× slower on the grid's small layers.
    """
    n_img, channels, o1_size, o2_size, o3_size = out.shape
    groups, cog = w.shape[0], w.shape[3]
    if prepare:  # the copies the loop reads: x → x, weight → w (one pass each)
        i3 = xin.shape[4]
        tile = 16 if i3 * cig_ >= 1 << 15 else i3  # a long row: 16 input rows at a time (stays in cache)
        for n in range(n_img):
            for gi in range(groups):
                for ia in range(xin.shape[2]):
                    for ib in range(xin.shape[3]):
                        for i0 in range(0, i3, tile):
                            for ci in range(cig_):  # reads along I₃, writes within the tile's rows
                                for ic in range(i0, min(i0 + tile, i3)):
                                    x[n, gi, ia, ib, ic * cig_ + ci] = xin[n, gi * cig_ + ci, ia, ib, ic]
        if cig_ * cog * w.shape[1] * w.shape[2] * slots.size < 1 << 18:
            for gi in range(groups):
                for ta in range(w.shape[1]):
                    for tb in range(w.shape[2]):
                        for co in range(cog):
                            for sl in range(slots.size):
                                tc = slots[sl]
                                for ci in range(cig_):
                                    w[gi, ta, tb, co, sl * cig_ + ci] = win[gi * cig_ + ci, co, ta, tb, tc]
        else:  # a large weight: 16 input channels at a time, each read in full (stays in cache)
            for gi in range(groups):
                for co in range(cog):
                    for c0 in range(0, cig_, 16):
                        for ta in range(w.shape[1]):
                            for tb in range(w.shape[2]):
                                for sl in range(slots.size):
                                    tc = slots[sl]
                                    for ci in range(c0, min(c0 + 16, cig_)):
                                        w[gi, ta, tb, co, sl * cig_ + ci] = win[gi * cig_ + ci, co, ta, tb, tc]
    one = np.uint64(1)
    step, cig = np.uint64(step_), np.uint64(cig_)
    seg = step * cig  # input elements between the taps of a run (step > 1: one dot product per tap)
    for r in range(r0, r1):
        n, o1 = r // o1_size, r % o1_size
        for o2 in range(o2_size):
            for gi in range(groups):
                p = 0
                while p < o3_size:
                    k = count[p]
                    m = 4 if chain[p] >= 4 else (2 if chain[p] >= 2 else 1)  # outputs in this block
                    if step == one:
                        nseg, sl = one, k * cig
                    else:
                        nseg, sl = k, cig
                    xb, wb = x0[p] * cig, w0[p] * cig
                    c = 0
                    while c + 4 <= cog:
                        co = gi * cog + c
                        if m == 4:
                            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = zero
                            s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = zero
                            for a in range(s1[o1], s1[o1 + 1]):
                                ia, ta = i1[a], t1[a]
                                for b in range(s2[o2], s2[o2 + 1]):
                                    ib, tb = i2[b], t2[b]
                                    for sg in range(nseg):
                                        xa, wa = xb + sg * seg, wb + sg * cig
                                        x1 = xa + cig
                                        x2 = x1 + cig
                                        x3 = x2 + cig
                                        for j in range(sl):
                                            u0 = x[n, gi, ia, ib, xa + j]
                                            u1 = x[n, gi, ia, ib, x1 + j]
                                            u2 = x[n, gi, ia, ib, x2 + j]
                                            u3 = x[n, gi, ia, ib, x3 + j]
                                            v0 = w[gi, ta, tb, c, wa + j]
                                            v1 = w[gi, ta, tb, c + 1, wa + j]
                                            v2 = w[gi, ta, tb, c + 2, wa + j]
                                            v3 = w[gi, ta, tb, c + 3, wa + j]
                                            s00 += u0 * v0
                                            s01 += u0 * v1
                                            s02 += u0 * v2
                                            s03 += u0 * v3
                                            s10 += u1 * v0
                                            s11 += u1 * v1
                                            s12 += u1 * v2
                                            s13 += u1 * v3
                                            s20 += u2 * v0
                                            s21 += u2 * v1
                                            s22 += u2 * v2
                                            s23 += u2 * v3
                                            s30 += u3 * v0
                                            s31 += u3 * v1
                                            s32 += u3 * v2
                                            s33 += u3 * v3
                            out[n, co, o1, o2, order[p]] = s00
                            out[n, co + 1, o1, o2, order[p]] = s01
                            out[n, co + 2, o1, o2, order[p]] = s02
                            out[n, co + 3, o1, o2, order[p]] = s03
                            out[n, co, o1, o2, order[p + 1]] = s10
                            out[n, co + 1, o1, o2, order[p + 1]] = s11
                            out[n, co + 2, o1, o2, order[p + 1]] = s12
                            out[n, co + 3, o1, o2, order[p + 1]] = s13
                            out[n, co, o1, o2, order[p + 2]] = s20
                            out[n, co + 1, o1, o2, order[p + 2]] = s21
                            out[n, co + 2, o1, o2, order[p + 2]] = s22
                            out[n, co + 3, o1, o2, order[p + 2]] = s23
                            out[n, co, o1, o2, order[p + 3]] = s30
                            out[n, co + 1, o1, o2, order[p + 3]] = s31
                            out[n, co + 2, o1, o2, order[p + 3]] = s32
                            out[n, co + 3, o1, o2, order[p + 3]] = s33
                        elif m == 2:
                            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = zero
                            for a in range(s1[o1], s1[o1 + 1]):
                                ia, ta = i1[a], t1[a]
                                for b in range(s2[o2], s2[o2 + 1]):
                                    ib, tb = i2[b], t2[b]
                                    for sg in range(nseg):
                                        xa, wa = xb + sg * seg, wb + sg * cig
                                        x1 = xa + cig
                                        for j in range(sl):
                                            u0 = x[n, gi, ia, ib, xa + j]
                                            u1 = x[n, gi, ia, ib, x1 + j]
                                            v0 = w[gi, ta, tb, c, wa + j]
                                            v1 = w[gi, ta, tb, c + 1, wa + j]
                                            v2 = w[gi, ta, tb, c + 2, wa + j]
                                            v3 = w[gi, ta, tb, c + 3, wa + j]
                                            s00 += u0 * v0
                                            s01 += u0 * v1
                                            s02 += u0 * v2
                                            s03 += u0 * v3
                                            s10 += u1 * v0
                                            s11 += u1 * v1
                                            s12 += u1 * v2
                                            s13 += u1 * v3
                            out[n, co, o1, o2, order[p]] = s00
                            out[n, co + 1, o1, o2, order[p]] = s01
                            out[n, co + 2, o1, o2, order[p]] = s02
                            out[n, co + 3, o1, o2, order[p]] = s03
                            out[n, co, o1, o2, order[p + 1]] = s10
                            out[n, co + 1, o1, o2, order[p + 1]] = s11
                            out[n, co + 2, o1, o2, order[p + 1]] = s12
                            out[n, co + 3, o1, o2, order[p + 1]] = s13
                        else:
                            s00 = s01 = s02 = s03 = zero
                            for a in range(s1[o1], s1[o1 + 1]):
                                ia, ta = i1[a], t1[a]
                                for b in range(s2[o2], s2[o2 + 1]):
                                    ib, tb = i2[b], t2[b]
                                    for sg in range(nseg):
                                        xa, wa = xb + sg * seg, wb + sg * cig
                                        for j in range(sl):
                                            u0 = x[n, gi, ia, ib, xa + j]
                                            v0 = w[gi, ta, tb, c, wa + j]
                                            v1 = w[gi, ta, tb, c + 1, wa + j]
                                            v2 = w[gi, ta, tb, c + 2, wa + j]
                                            v3 = w[gi, ta, tb, c + 3, wa + j]
                                            s00 += u0 * v0
                                            s01 += u0 * v1
                                            s02 += u0 * v2
                                            s03 += u0 * v3
                            out[n, co, o1, o2, order[p]] = s00
                            out[n, co + 1, o1, o2, order[p]] = s01
                            out[n, co + 2, o1, o2, order[p]] = s02
                            out[n, co + 3, o1, o2, order[p]] = s03
                        c += 4
                    while c < cog:
                        co = gi * cog + c
                        if m == 4:
                            s00 = s10 = s20 = s30 = zero
                            for a in range(s1[o1], s1[o1 + 1]):
                                ia, ta = i1[a], t1[a]
                                for b in range(s2[o2], s2[o2 + 1]):
                                    ib, tb = i2[b], t2[b]
                                    for sg in range(nseg):
                                        xa, wa = xb + sg * seg, wb + sg * cig
                                        x1 = xa + cig
                                        x2 = x1 + cig
                                        x3 = x2 + cig
                                        for j in range(sl):
                                            u0 = x[n, gi, ia, ib, xa + j]
                                            u1 = x[n, gi, ia, ib, x1 + j]
                                            u2 = x[n, gi, ia, ib, x2 + j]
                                            u3 = x[n, gi, ia, ib, x3 + j]
                                            v0 = w[gi, ta, tb, c, wa + j]
                                            s00 += u0 * v0
                                            s10 += u1 * v0
                                            s20 += u2 * v0
                                            s30 += u3 * v0
                            out[n, co, o1, o2, order[p]] = s00
                            out[n, co, o1, o2, order[p + 1]] = s10
                            out[n, co, o1, o2, order[p + 2]] = s20
                            out[n, co, o1, o2, order[p + 3]] = s30
                        elif m == 2:
                            s00 = s10 = zero
                            for a in range(s1[o1], s1[o1 + 1]):
                                ia, ta = i1[a], t1[a]
                                for b in range(s2[o2], s2[o2 + 1]):
                                    ib, tb = i2[b], t2[b]
                                    for sg in range(nseg):
                                        xa, wa = xb + sg * seg, wb + sg * cig
                                        x1 = xa + cig
                                        for j in range(sl):
                                            u0 = x[n, gi, ia, ib, xa + j]
                                            u1 = x[n, gi, ia, ib, x1 + j]
                                            v0 = w[gi, ta, tb, c, wa + j]
                                            s00 += u0 * v0
                                            s10 += u1 * v0
                            out[n, co, o1, o2, order[p]] = s00
                            out[n, co, o1, o2, order[p + 1]] = s10
                        else:
                            s00 = zero
                            for a in range(s1[o1], s1[o1 + 1]):
                                ia, ta = i1[a], t1[a]
                                for b in range(s2[o2], s2[o2 + 1]):
                                    ib, tb = i2[b], t2[b]
                                    for sg in range(nseg):
                                        xa, wa = xb + sg * seg, wb + sg * cig
                                        for j in range(sl):
                                            u0 = x[n, gi, ia, ib, xa + j]
                                            v0 = w[gi, ta, tb, c, wa + j]
                                            s00 += u0 * v0
                            out[n, co, o1, o2, order[p]] = s00
                        c += 1

                    p += m


@functools.lru_cache(maxsize=1)
def _kernel():
    """:func:`_loop` compiled by numba (imported here, on first use), without the GIL while it runs,
    cached on disk."""
    import numba

    return numba.njit(cache=True, fastmath={"reassoc", "contract"}, nogil=True)(_loop)


def compiled(x: np.ndarray, weight: np.ndarray, out: np.ndarray, g) -> None:
    """``x`` ``(N, C_in, *i)``, ``weight`` ``(C_in, C/G, *k)`` → ``out`` ``(N, C, *o)``, C-contiguous,
    written in full; one dtype of :data:`DTYPES`, ``N ≥ 1``.

    >>> from tconv.arguments import transpose_geometry
    >>> x = np.array([[[1, 2]]]); w = np.array([[[1, 10, 100]]]); out = np.empty((1, 1, 5), dtype=np.int64)
    >>> compiled(x, w, out, transpose_geometry(x.shape, w.shape, stride=2)); out
    array([[[  1,  10, 102,  20, 200]]])
    """
    n = x.shape[0]
    xs, ws, xls, wls, ys, lists, slots = _layout(g)
    xin, win = np.ascontiguousarray(x).reshape(n, *xs), np.ascontiguousarray(weight).reshape(ws)
    xl, wl = np.empty((n, *xls), dtype=x.dtype), np.empty(wls, dtype=x.dtype)
    args, kernel, zero, rows = (xl, wl, out.reshape(n, *ys), *lists), _kernel(), out.dtype.type(0), n * ys[1]
    if g.macs < THREAD_MACS:
        kernel(xin, win, slots, True, *args, 0, rows, zero)
    else:  # disjoint blocks of rows on tconv's threads (the loop runs without the GIL)
        kernel(xin, win, slots, True, *args, 0, 0, zero)
        parallel(lambda r0, r1: kernel(xin, win, slots, False, *args, r0, r1, zero), rows, THREAD_MIN)


@functools.lru_cache(maxsize=256)
def _layout(g):
    """Per geometry (cached): the 3-D shapes of the input, the weight, their copies and the output
    (without ``N``), the pair lists of the first two axes and the runs of the last (:func:`last_axis`)."""
    groups, nd = g.groups, g.ndim
    cig, cog = g.small_channels // groups, g.large_channels // groups
    pad = 3 - nd  # leading unit axes
    small, kernel, large = (1,) * pad + g.small, (1,) * pad + g.kernel, (1,) * pad + g.large
    axes = tap_map(g)
    last = axes[-1]
    order, x0, w0, count, chain, step, slots = last_axis(
        last.small, last.large, last.kernel, last.stride, last.dilation, last.begin
    )
    lists = [output_lists(1, 1, 1, 1, 1, 0)] * pad + [
        output_lists(ax.small, ax.large, ax.kernel, ax.stride, ax.dilation, ax.begin) for ax in axes[:-1]
    ]
    return (
        (g.small_channels, *small),
        (g.small_channels, cog, *kernel),
        (groups, small[0], small[1], small[2] * cig),  # x's copy: a run of input rows is one slice
        (groups, kernel[0], kernel[1], cog, len(slots) * cig),  # the weight's: last-axis taps in run order
        (g.large_channels, *large),
        (*lists[0], *lists[1], order, x0, w0, count, chain, step, cig),
        slots,
    )
