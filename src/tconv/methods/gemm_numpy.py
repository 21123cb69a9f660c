"""The fast NumPy path of ``gemm``: the same GEMM + col2im, arranged for a CPU.

:func:`tconv.gemm.gemm` is the readable array-API version; for NumPy arrays it hands the work to
:func:`conv_transpose` here. Same definition, grouped by kernel tap::

    cols[t, co, n, i] = Σ_ci w[ci, co, t] · x[n, ci, i]          one matrix product (BLAS)
    y[n, co, i·s + t·d − b] += cols[t, co, n, i]                 col2im: Πk slice additions

What makes it fast, and why (each measured on a 2-core machine against the readable version and
torch; see docs/performance.md). Six arrangements compute it — ``reshape`` (item 5),
``channels_first`` (items 1–3), ``channels_last`` (item 4), ``separable`` (item 9), ``phases``
(one product per output phase from an im2col of the input, no col2im:
:mod:`tconv.methods.gemm_phases`) and ``compiled`` (numba's fused loop:
:mod:`tconv.methods.gemm_compiled`) — and :func:`plan` picks one per geometry by the rule of
:mod:`tconv.methods.choice` (``method="measure"`` times them instead):

1. **No weight copy.** The weight ``(C_in, C_out/G, *k)`` reshaped to ``(C_in, C_out/G·Πk)`` is a
   view; its transpose is the ``(C_out·Πk × C_in)`` left factor, which BLAS reads transposed for free.
   Rows come out ordered ``(co, t)``, so a block of output channels is a block of rows.
2. **Fold the batch when the image is small.** A ``(C_out·Πk × C_in) @ (C_in × Πi)`` product per
   image is a thin product when ``Πi`` is small (DCGAN: 16 columns); one product with ``N·Πi``
   columns runs near the machine's matrix-product peak. Costs one copy of the input.
3. **Col2im into the cropped output, phase by phase.** Tap ``t`` sends input ``i`` to
   ``o = i·s + t·d − b``; only ``0 ≤ o < O`` is kept, i.e. ``i`` in
   ``[⌈(b − t·d)/s⌉, ⌈(O + b − t·d)/s⌉)``, clipped to ``[0, I)`` — taps entirely in the crop are
   skipped, and there is no full canvas, no crop copy and no ``np.add.at``. The taps landing on one
   output phase ``o ≡ r (mod s)`` are summed into a contiguous buffer for that phase (contiguous
   additions are vectorised, strided ones are not), which is then copied to its strided positions
   once: half the time of adding each tap into the strided output directly (:func:`_col2im`).
   With numba (the ``fast`` extra) col2im is instead one compiled pass that reads the columns once
   and writes each output once (:func:`tconv.methods.gemm_col2im.col2im`): measured 2–2.5× faster
   than the slice additions on one thread, e.g. 3.3 against 8.5 ms for the (8, 64, 32, 32) → 64,
   k4 s2 layer's 32 MiB of columns.
4. **Channels-last columns for small images with many channels.** A strided-slice addition runs
   its inner loop along the last axis; channels-first that axis is the image width (4 for DCGAN),
   channels-last it is the output channel count (256). Costs a copy of the weight block and one
   transpose of the output block.
5. **``k == s`` is a reshape.** With kernel equal to stride (and no dilation, crop or padding),
   taps never overlap: ``y[n, co, i·s + t] = cols[n, co, t, i]`` is one strided copy per tap, no
   additions.
6. **Tiles bound the memory.** The column buffer is ``Πk`` times the input; it is computed for a
   block of images at a time (when one image is too large: a block of its output channels or, for
   ``k == s``, of its input rows, which keeps the product's rows many), into one reused buffer of
   at most ``workspace_bytes`` (8 MiB, small enough to be read back from cache). The extra memory
   of a call is that buffer plus the copies of items 2 and 4: 3–26 MiB on the benchmark's layers,
   whose whole column buffers would take 3–128 MiB.
7. **Threads.** By default BLAS threads the products as the process has set it, and the additions
   of a large col2im block are split over tconv's threads (NumPy releases the GIL inside ufunc
   loops). Where the caller runs BLAS single-threaded (``threadpoolctl.threadpool_limits(1,
   "blas")``, ``OPENBLAS_NUM_THREADS=1``), a large call (at least 2²⁵ multiply-adds) is instead
   cut into disjoint blocks of images — or of output channels, when a block of images would leave
   the product too few columns — one per thread, each running its own tiles' products and col2im
   (:func:`gemm_tiles.split`; reading BLAS's setting needs ``threadpoolctl``, the ``fast`` extra).
   tconv never changes BLAS's thread count itself: it is one setting for the whole process.
   :func:`tconv.set_num_threads` caps tconv's threads; tiles and threads live in :mod:`gemm_tiles`.
8. **Tiny calls: col2im as a product.** Each slice addition costs about 1.5 µs of overhead, so on
   a learner-sized call the ``Πk`` additions are replaced by one product with the cached 0/1
   col2im matrix (:func:`tconv.methods.gemm_separable.col2im_matrix`), when the columns are finite.
9. **Small calls: col2im one axis at a time** (:mod:`tconv.methods.gemm_separable`): one small
   product with each axis's 0/1 placement matrix, ``2·ndim + 3`` NumPy calls in all instead of
   ``Πk`` slice additions (measured: (1, 16, 8, 8) → 16, k4 s2: 50 against 70 µs).
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from tconv.methods import choice, gemm_col2im, gemm_compiled, gemm_phases, gemm_separable
from tconv.methods.gemm_tiles import THREAD_MIN as _THREAD_MIN
from tconv.methods.gemm_tiles import WORKSPACE_BYTES
from tconv.methods.gemm_tiles import blocks as _blocks
from tconv.methods.gemm_tiles import buffer as _buffer
from tconv.methods.gemm_tiles import matmul as _matmul
from tconv.methods.gemm_tiles import parallel as _parallel
from tconv.methods.gemm_tiles import run_split as _run_split
from tconv.methods.gemm_tiles import split as _split
from tconv.methods.gemm_tiles import tiles as _tiles
from tconv.resources import set_num_threads
from tconv.taps import flat_index, tap_map

__all__ = ["conv_transpose", "plan", "set_num_threads", "tap_slices", "WORKSPACE_BYTES"]


@functools.lru_cache(maxsize=256)
def tap_slices(g):
    """For each kernel tap ``(j, src, dst)``: the input and output slices col2im adds, crop applied.

    From the tap map (:mod:`tconv.taps`): per axis, tap ``t`` sends its inputs ``[lo, hi)`` to every
    ``s``-th output from ``(lo + q₀)·s + r``; taps wholly in the crop are not in the map. ``j`` is the
    row-major flat tap index, the weight's own order.
    """
    axes = tap_map(g)
    return tuple(
        (
            flat_index(combo, g.kernel),
            tuple(slice(tap.lo, tap.hi) for tap in combo),
            tuple(ax.output_slice(tap) for ax, tap in zip(axes, combo)),
        )
        for combo in itertools.product(*(ax.taps for ax in axes))
    )


@functools.lru_cache(maxsize=256)
def _index_last(g):
    """:func:`tap_slices` as whole index tuples for channels-last columns ``(N, *I, Πk, C)`` and
    output ``(N, *O, C)`` (the trailing ``C`` left implicit)."""
    return tuple(((slice(None), *src, j), (slice(None), *dst)) for j, src, dst in tap_slices(g))


def plan(g, dtype=None) -> str:
    """Which arrangement :func:`conv_transpose` uses for geometry ``g`` and ``dtype``: the rule of
    :func:`tconv.methods.choice.rule` (``tconv.plan`` shows it and why).

    >>> from tconv.arguments import transpose_geometry
    >>> plan(transpose_geometry((1, 1, 4), (1, 1, 2), stride=2))   # no dtype: NumPy's arrangements only
    'reshape'
    """
    return choice.rule(g, None if dtype is None else np.dtype(dtype).name).arrangement


def conv_transpose(
    x: np.ndarray, weight: np.ndarray, g, *, workspace_bytes: int = WORKSPACE_BYTES, arrangement: str | None = None
) -> np.ndarray:
    """``(N, C_in, *i)`` and ``(C_in, C_out/G, *k)`` NumPy arrays of one dtype → ``(N, C_out, *o)``.

    >>> from tconv.arguments import transpose_geometry
    >>> x = np.array([[[1., 2.]]]); w = np.array([[[1., 10., 100.]]])
    >>> conv_transpose(x, w, transpose_geometry(x.shape, w.shape, stride=2))
    array([[[  1.,  10., 102.,  20., 200.]]])

    ``arrangement`` forces one (:func:`plan`'s choice by default; ``reshape`` only where it applies,
    ``compiled`` only with numba and a dtype of :data:`gemm_compiled.DTYPES`).
    """
    how = plan(g, x.dtype) if arrangement is None else arrangement
    if how == "compiled":
        if x.dtype == weight.dtype and x.dtype in gemm_compiled.SERVED:
            y = np.empty((x.shape[0], g.large_channels, *g.large), dtype=x.dtype)
            if x.shape[0]:
                gemm_compiled.compiled(x, weight, y, g)
            return y
        how = plan(g)  # a dtype the loop is not compiled for: the rule without it
    if how == "phases" and weight.dtype.kind in "fc" and not np.isfinite(weight).all():
        how = "channels_first"  # phases multiplies the input's zero border by the weight: 0·inf = nan
    n, groups = x.shape[0], g.groups
    cig, cog = g.small_channels // groups, g.large_channels // groups
    p = math.prod(g.small)
    x3 = np.ascontiguousarray(x).reshape(n, groups, cig, p)
    w3 = np.ascontiguousarray(weight).reshape(groups, cig, cog * g.taps)  # a view: rows (co, t)
    dtype = x.dtype if x.dtype == weight.dtype else np.result_type(x, weight)
    empty = (  # the arrangement writes every output element
        how == "reshape"
        or (how == "phases" and not gemm_phases.phase_plan(g).zero_fill)
        or (how in ("channels_first", "channels_last") and gemm_col2im.has_col2im(dtype))
    )
    out = (np.empty if empty and n else np.zeros)((n, groups, cog, *g.large), dtype=dtype)
    if n == 0:
        return out.reshape(n, g.large_channels, *g.large)
    item = out.itemsize
    run = {
        "reshape": _reshape,
        "channels_last": _channels_last,
        "channels_first": _channels_first,
        "separable": _separable,
        "phases": gemm_phases.phases,
    }[how]
    taps = g.taps
    parts = _split(n, cog, p, g.macs // groups, by_channels=how != "phases")
    for gi in range(groups):
        xg, wg, og = x3[:, gi], w3[gi], out[:, gi]
        if parts:  # one thread per block of images or output channels (gemm_tiles.split)
            _run_split(
                lambda n0, n1, c0, c1, xg=xg, wg=wg, og=og: run(
                    xg[n0:n1], wg[:, c0 * taps : c1 * taps], og[n0:n1, c0:c1], g, item, workspace_bytes
                ),
                parts,
            )
        else:
            run(xg, wg, og, g, item, workspace_bytes)
    return out.reshape(n, g.large_channels, *g.large)


@functools.lru_cache(maxsize=256)
def _reshape_index(kernel: tuple):
    """Per tap ``t``: the index of its slab in the columns (``(…, t₁, t₂, …, *I)``) and of its
    output positions in the view ``(…, I₁, s₁, I₂, s₂, …)`` (``t_j`` on every ``s_j`` axis)."""
    every = slice(None)
    return tuple(
        ((Ellipsis, *t, *(every,) * len(kernel)), (Ellipsis, *[v for tj in t for v in (every, tj)]))
        for t in itertools.product(*(range(k) for k in kernel))
    )


def _copy_taps(block, cols, index, a, b):
    """``block[:, a:b]`` ← ``cols[:, a:b]``, one tap at a time (the first axis of both is images)."""
    for src, dst in index:
        block[:, a:b][dst] = cols[:, a:b][src]


def _reshape(x, w, out, g, item, budget):
    """``k == s``: ``y[n, co, i·s + t] = cols[n, co, t, i]`` — copies, no sums.

    ``out`` ``(N, C, *O)`` with ``O = I·s`` is viewed as ``(N, C, I₁, s₁, I₂, s₂, …)``; the slab of
    tap ``t`` of the columns ``(N, C, k₁, k₂, …, I₁, I₂, …)`` is copied to ``[…, :, t₁, :, t₂, …]``.
    One copy per tap, each with the input width as its inner loop, beat one copy of the whole
    transposed block (whose inner loop is ``s`` long): 0.7 against 2.8 ms on the U-Net up-convolution.
    """
    n, cig, p = x.shape
    cog = out.shape[1]
    nd, taps = g.ndim, g.taps
    view = out.reshape(n, cog, *[v for i, s in zip(g.small, g.stride) for v in (i, s)])
    index = _reshape_index(g.kernel)
    if cog * taps * p * item > budget and cog * taps * (p // g.small[0]) * item <= budget:
        return _reshape_rows(x, w, view, g, item, budget, index)
    tiles = _tiles(n, cog, taps * p * item, budget)
    buf = _buffer(tiles, taps * p, out.dtype)
    for n0, n1, c0, c1 in tiles:
        m, wt = n1 - n0, w[:, c0 * taps : c1 * taps].T  # (C·Πk, C_in), a view
        if m > 1 and p < 1024:  # fold: one product with m·Πi columns, then the images back in front
            xf = x[n0:n1].transpose(1, 0, 2).reshape(cig, m * p)
            cols = np.moveaxis(_matmul(wt, xf, buf).reshape(c1 - c0, *g.kernel, m, *g.small), 1 + nd, 0)
        else:
            cols = _matmul(wt, x[n0:n1], buf).reshape(m, c1 - c0, *g.kernel, *g.small)
        block = view[n0:n1, c0:c1]
        _parallel(lambda a, b: _copy_taps(block, cols, index, a, b), c1 - c0, cols.size)


def _reshape_rows(x, w, view, g, item, budget, index):
    """``k == s`` for large images: tiles of whole input rows (first spatial axis), every channel.

    Without overlap a block of input rows ``[r0, r1)`` fills output rows ``[r0·s, r1·s)`` alone, and
    its columns ``x[n, :, r0·R : r1·R]`` (``R`` positions per row) are a strided 2-D view BLAS
    reads in place. Tiling rows rather than channels keeps the product's ``C·Πk`` rows (measured:
    13-channel tiles of the 196×196 U-Net layer ran the product with 52 rows, far from peak).
    """
    n, cig, p = x.shape
    cog, taps = view.shape[1], g.taps
    row = p // g.small[0]
    blocks = _blocks(g.small[0], cog * taps * row * item, budget)
    buf = np.empty(max(b - a for a, b in blocks) * cog * taps * row, dtype=view.dtype)
    wt = w.T  # (C·Πk, C_in)
    for i in range(n):
        for r0, r1 in blocks:
            cols = _matmul(wt, x[i, :, r0 * row : r1 * row], buf).reshape(1, cog, *g.kernel, r1 - r0, *g.small[1:])
            block = view[i : i + 1, :, r0:r1]
            _parallel(lambda a, b: _copy_taps(block, cols, index, a, b), cog, cols.size)


@functools.lru_cache(maxsize=256)
def _phases(g):
    """The taps grouped by output phase, for col2im with contiguous additions.

    In the tap map (:mod:`tconv.taps`) tap ``t`` feeds output phase ``r`` — the outputs
    ``o ≡ r (mod s)``, ``q = (o − r)/s`` in ``[0, Q_r)`` — at ``q = i + q₀``: a *contiguous* slice
    of the phase. Returns, per phase (all axes), the output slices ``r::s``, the phase's shape ``Q``
    and its taps ``(j, input slices, phase slices)``.
    """
    out = []
    for combo in itertools.product(*(ax.phases for ax in tap_map(g))):
        taps = []
        for tq in itertools.product(*(p.taps for p in combo)):
            taps.append(
                (
                    flat_index(tq, g.kernel),
                    tuple(slice(t.lo, t.hi) for t in tq),
                    tuple(slice(t.lo + t.shift, t.hi + t.shift) for t in tq),
                )
            )
        # a tap covering the whole phase first: col2im then starts from a copy of it, not from zeros
        taps.sort(key=lambda tap: -math.prod(d.stop - d.start for d in tap[2]))
        where = tuple(slice(p.phase, None, s) for p, s in zip(combo, g.stride))
        out.append((where, tuple(p.size for p in combo), tuple(taps)))
    return tuple(out)


def _col2im(cols, block, phases, images: slice, channels: slice):
    """col2im of ``cols[images, channels]`` ``(m, c, Πk, *I)`` into ``block[images, channels]``.

    Per phase: the taps are added into a contiguous phase buffer, which is then copied to the
    phase's strided positions once. NumPy's contiguous additions are vectorised and its strided
    ones are not: measured 2× faster than adding every tap straight into the strided output.
    """
    cols, block = cols[images, channels], block[images, channels]
    every = slice(None)
    for where, shape, taps in phases:
        j, src, dst = taps[0]
        if all(d.start == 0 and d.stop == q for d, q in zip(dst, shape)):
            # the first tap covers the whole phase: a copy, not zeros plus an addition (one NumPy call
            # and one pass over the buffer fewer — most of a small call's time is such calls)
            phase = cols[(every, every, j, *src)].copy()
            rest = taps[1:]
        else:
            phase, rest = np.zeros((*block.shape[:2], *shape), dtype=block.dtype), taps
        for j, src, dst in rest:
            phase[(every, every, *dst)] += cols[(every, every, j, *src)]
        block[(every, every, *where)] = phase


def _channels_first(x, w, out, g, item, budget):
    """cols ``(N, C, Πk, *I)``, then col2im: numba's one compiled pass where it is installed
    (:func:`tconv.methods.gemm_col2im.col2im`), else phase by phase (:func:`_col2im`)."""
    n, cig, p = x.shape
    cog, taps = out.shape[1], g.taps
    phases = _phases(g)
    tiles = _tiles(n, cog, taps * p * item, budget)
    buf = _buffer(tiles, taps * p, out.dtype)
    every = slice(None)
    for n0, n1, c0, c1 in tiles:
        m, wt = n1 - n0, w[:, c0 * taps : c1 * taps].T  # (C·Πk, C_in), a view
        if m > 1 and p < 1024:  # fold: rows (co, t), columns (n, i) → (n, co, t, *i) as a view
            xf = x[n0:n1].transpose(1, 0, 2).reshape(cig, m * p)
            cols = np.moveaxis(_matmul(wt, xf, buf).reshape(c1 - c0, taps, m, *g.small), 2, 0)
        else:
            cols = _matmul(wt, x[n0:n1], buf).reshape(m, c1 - c0, taps, *g.small)
        block = out[n0:n1, c0:c1]
        if cols.size * math.prod(g.large) <= gemm_separable.TINY_MACS:
            matrix = gemm_separable.col2im_matrix(g, cols.dtype.str)
            if matrix is not None and (cols.dtype.kind != "f" or np.isfinite(cols).all()):
                block[...] = (cols.reshape(m, c1 - c0, -1) @ matrix).reshape(block.shape)
                continue
        if gemm_col2im.has_col2im(cols.dtype):  # one compiled pass (the fast extra)
            gemm_col2im.col2im(cols, block, g)
            continue
        if cols.size < _THREAD_MIN:
            _col2im(cols, block, phases, every, every)
        elif c1 - c0 > 1:  # threads take disjoint channels
            _parallel(lambda a, b: _col2im(cols, block, phases, every, slice(a, b)), c1 - c0, cols.size)
        else:  # one channel: threads take disjoint images
            _parallel(lambda a, b: _col2im(cols, block, phases, slice(a, b), every), m, cols.size)


def _channels_last(x, w, out, g, item, budget):
    """cols ``(N, *I, Πk, C)``: col2im's inner loop runs over output channels; one transpose at the end."""
    n, cig, p = x.shape
    cog, taps = out.shape[1], g.taps
    slices = tap_slices(g)
    o = math.prod(g.large)
    xl = np.ascontiguousarray(x.transpose(0, 2, 1))  # (N, Πi, C_in)
    weights = {}
    # per (image, channel): its column-buffer share plus its channels-last output share
    tiles = _tiles(n, cog, (taps * p + o) * item, budget, max_channels=budget // (cig * taps * item))
    buf = _buffer(tiles, taps * p, out.dtype)
    for n0, n1, c0, c1 in tiles:
        m, c = n1 - n0, c1 - c0
        if (c0, c1) not in weights:  # weight block (C_in, c, Πk) → (C_in, Πk, c): channels inside
            weights = {
                (c0, c1): np.ascontiguousarray(w[:, c0 * taps : c1 * taps].reshape(cig, c, taps).transpose(0, 2, 1))
            }
        wl = weights[(c0, c1)].reshape(cig, taps * c)
        cols = _matmul(xl[n0:n1].reshape(m * p, cig), wl, buf).reshape(m, *g.small, taps, c)
        if gemm_col2im.has_col2im(cols.dtype):  # one compiled pass, straight into the output (the fast extra)
            gemm_col2im.col2im_last(cols, out[n0:n1, c0:c1], g)
            continue
        acc = np.zeros((m, *g.large, c), dtype=out.dtype)
        if cols.size < _THREAD_MIN:
            for src, dst in _index_last(g):
                acc[dst] += cols[src]
        elif m > 1:  # threads take disjoint images

            def col2im(a, b, cols=cols, acc=acc):
                for j, src, dst in slices:
                    acc[(slice(a, b), *dst)] += cols[(slice(a, b), *src, j)]

            _parallel(col2im, m, cols.size)
        else:  # one image: threads take disjoint channels

            def col2im(a, b, cols=cols, acc=acc):
                for j, src, dst in slices:
                    acc[(slice(None), *dst, slice(a, b))] += cols[(slice(None), *src, j, slice(a, b))]

            _parallel(col2im, c, cols.size)
        block = out[n0:n1, c0:c1]
        _parallel(lambda a, b: np.copyto(block[a:b], np.moveaxis(acc[a:b], -1, 1)), m, acc.size)


def _separable(x, w, out, g, item, budget):
    """:func:`tconv.methods.gemm_separable.separable`, whose columns holding an ``inf`` or ``nan``
    are summed by the slice additions of :func:`_col2im` instead."""
    every = slice(None)
    gemm_separable.separable(x, w, out, g, lambda cols: _col2im(cols, out, _phases(g), every, every))
