"""The fast path of ``gemm`` on tensors: the core's GEMM + col2im and its two adjoints, in tiles.

The core's readable :func:`tconv.methods.gemm.readable` builds the whole column buffer (``Πk`` times
the input) and a whole uncropped canvas, then crops it. On tensors that is slow for a reason that
has nothing to do with arithmetic: the allocator maps every block over 32 MiB freshly from the
operating system, and the first write to each page faults (measured: 75 MiB allocated and filled in
20 ms, 3.7 GB/s, where a reused 31 MiB block filled at 30 GB/s). So the three maps of
:mod:`tconv.torch.kernels` run here a tile at a time — a block of images, or of one image's
large-side channels when one image is too large (:func:`tconv.methods.gemm_tiles.tiles`) — each
tile's column buffer written into one workspace of at most ``BUDGET`` bytes, kept per thread from
call to call (so never page-faulted again, and read back from cache):

    transpose            cols = wᵀ[tile] x_block;  y[n, cl, i·s + t·d − b] += cols[n, cl, t, i]   (crop applied)
    conv                 x_block += w[:, tile] · columns(y_block[tile])
    weight_correlation   w[:, tile] += x_block · columns(y_block[tile])ᵀ

col2im adds each tap's slice straight into the cropped output (the slices of
:func:`tconv.methods.gemm_numpy.tap_slices`, read from the tap map of :mod:`tconv.taps` like every
method's): no canvas and no crop copy. The results equal the
readable versions' (tested on random geometries against torch.nn and the core).

Where the product is shallow (few small-side channels), col2im is the larger part of
``transpose`` — ``Πk`` read-modify-writes of the output, strided by ``s``, for one product whose
depth is only ``C_s`` — and :func:`transpose` takes :func:`tconv.torch.phases.transpose_phases` instead: each
output phase is a stride-1 correlation of the small side, computed as products on shifted views of
one zero-padded copy of it, with no column buffer and no col2im (:func:`tconv.torch.phases.phases_fit` says when).
The two adjoints likewise (:func:`adjoints_phases`, where :func:`adjoints_phases_fit`): each tap's
products read shifted views of the large side's phases, copied once, instead of a column buffer.
"""

from __future__ import annotations

import math

import torch

from tconv.arrays import window
from tconv.geometry import Geometry
from tconv.methods import gemm_numpy
from tconv.methods.gemm_numpy import tap_slices
from tconv.methods.gemm_tiles import tiles
from tconv.torch.phases import adjoints_phases, adjoints_phases_fit, phases_fit, transpose_phases
from tconv.torch.workspace import BUDGET, workspace

__all__ = ["transpose", "conv", "weight_correlation", "adjoints", "columns", "BUDGET"]

#: Small-side channels per group from which :func:`adjoints` takes the weight's product untransposed.
DEEP = 64
#: On CPU, float32/float64 calls of at most this many multiply-adds go to numba's fused loop where
#: the NumPy rule takes it (:func:`tconv.methods.gemm_compiled.wins`), through NumPy views of the
#: tensors: at this size the ``Πk`` tap slices are the call, and a torch indexing step costs several
#: times a NumPy one. Measured, 1 thread, forward alone: s-16x8 38 against 227 µs, s-3d-16x4 29
#: against 156 µs; larger calls measured mixed. Only numba's loop: NumPy's other arrangements run
#: NumPy's BLAS, whose threads then spin beside torch's (measured: a training step up to 2× slower).
NUMPY_MACS = 1 << 22


def _tiles(g: Geometry, n: int, item: int):
    """Tiles ``(n0, n1, c0, c1)`` of images × large-side channels (of every group) whose column
    buffer fits in :data:`BUDGET`."""
    return tiles(n, g.large_channels // g.groups, g.groups * g.taps * math.prod(g.small) * item, BUDGET)


def transpose(x: torch.Tensor, weight: torch.Tensor, g: Geometry) -> torch.Tensor:
    """``y = T_w x``: per tile one product ``(c·Πk × C_s/G) @ (C_s/G × m·Πi)`` per group, then col2im
    into the cropped output — or :func:`transpose_phases` where :func:`phases_fit` says so, or, for a
    small CPU call, numba's fused loop where the NumPy rule takes it (:data:`NUMPY_MACS`).

    >>> from tconv.arguments import transpose_geometry
    >>> x = torch.tensor([[[1., 2.]]]); w = torch.tensor([[[1., 10., 100.]]])
    >>> transpose(x, w, transpose_geometry(x.shape, w.shape, stride=2))
    tensor([[[  1.,  10., 102.,  20., 200.]]])
    """
    if g.macs <= NUMPY_MACS and x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64):
        xn, wn = x.detach().numpy(), weight.detach().numpy()
        if gemm_numpy.plan(g, xn.dtype) == "compiled":
            return torch.from_numpy(gemm_numpy.conv_transpose(xn, wn, g, arrangement="compiled"))
    if phases_fit(g):
        return transpose_phases(x, weight, g)
    n, groups, taps, nd = x.shape[0], g.groups, g.taps, g.ndim
    cs, cl = g.small_channels // groups, g.large_channels // groups
    p = math.prod(g.small)
    out = torch.zeros((n, groups, cl, *g.large), dtype=x.dtype, device=x.device)
    wt = weight.reshape(groups, cs, cl * taps).mT  # (G, cl·Πk, cs): rows (cl, t), a view
    xg = x.reshape(n, groups, cs, p)
    every = slice(None)
    folded = (-1, -1)
    for n0, n1, c0, c1 in _tiles(g, n, x.element_size()):
        m, c = n1 - n0, c1 - c0
        if folded != (n0, n1):  # the batch folded into the columns: (G, cs, m·Πi)
            xf, folded = xg[n0:n1].permute(1, 2, 0, 3).reshape(groups, cs, m * p), (n0, n1)
        cols = workspace(groups * c * taps * m * p, x).view(groups, c * taps, m * p)
        torch.matmul(wt[:, c0 * taps : c1 * taps], xf, out=cols)
        cols = cols.view(groups, c, taps, m, *g.small).permute(3, 0, 1, 2, *range(4, 4 + nd))
        block = out[n0:n1, :, c0:c1]
        for j, src, dst in tap_slices(g):
            block[(every, every, every, *dst)] += cols[(every, every, every, j, *src)]
    return out.reshape(n, g.large_channels, *g.large)


def _window(a: torch.Tensor, begin, size) -> torch.Tensor:
    """:func:`tconv.arrays.window` into this thread's kept workspace (slot 2), zeroing only the
    border strips the copy leaves: the whole padded block was zero-filled, then overwritten
    (measured on ``k3s2-op1``'s gradient, 6 tiles of 5.6 MiB: 10 ms of fill in 60 ms of backward).
    The result is a view of the workspace, valid until the next call."""
    nd = len(size)
    have = a.shape[a.ndim - nd :]
    if all(0 <= b and b + n <= h for b, n, h in zip(begin, size, have)):
        return a[(..., *(slice(b, b + n) for b, n in zip(begin, size)))]
    lead = a.shape[: a.ndim - nd]
    out = workspace(math.prod(lead) * math.prod(size), a, 2).view(*lead, *size)
    src = tuple(slice(max(b, 0), min(b + n, h)) for b, n, h in zip(begin, size, have))
    dst = tuple(slice(r.start - b, r.stop - b) for r, b in zip(src, begin))
    if not all(r.start < r.stop for r in src):
        return out.zero_()
    every = (slice(None),) * len(lead)
    for axis, (d, n) in enumerate(zip(dst, size)):
        before = (slice(None),) * axis
        if d.start > 0:
            out[(*every, *before, slice(0, d.start))] = 0
        if d.stop < n:
            out[(*every, *before, slice(d.stop, n))] = 0
    out[(*every, *dst)] = a[(*every, *src)]
    return out


def _im2col(block: torch.Tensor, g: Geometry, out: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`columns` of ``block`` ``(m, G, c, *o)`` — some images, some channels of every group —
    as ``(G, c·Πk, m·Πi)``, written into ``out`` (a flat buffer) when given."""
    m, groups, c, nd = block.shape[0], g.groups, block.shape[2], g.ndim
    begin = tuple(-b for b in g.begin)
    full = window(block, begin, g.full) if out is None else _window(block, begin, g.full)
    for axis, (ke, s) in enumerate(zip(g.effective_kernel, g.stride)):
        full = full.unfold(3 + axis, ke, s)  # (..., i, ..., k_eff): F = (i−1)·s + k_eff gives i windows
    taps = full[(..., *(slice(None, None, d) for d in g.dilation))]  # (m, G, c, *i, *k)
    taps = taps.permute(1, 2, *range(3 + nd, 3 + 2 * nd), 0, *range(3, 3 + nd))  # (G, c, *k, m, *i)
    shape = (groups, c * g.taps, m * math.prod(g.small))
    if out is None:
        return taps.reshape(shape)
    out.view(taps.shape).copy_(taps)
    return out.view(shape)


def columns(large: torch.Tensor, g: Geometry) -> torch.Tensor:
    """im2col: ``cols[G, cl·Πk + t, n·Πi + i] = full[n, G·C_l/G + cl, i·s + t·d]``, ``full[f] = large[f − b]``.

    The core's ``gemm`` writes a column buffer and adds it into the output (col2im); this reads the
    large side back into that buffer — col2im's adjoint. ``Tensor.unfold(axis, k_eff, s)`` is the
    view of every window ``[i·s, i·s + k_eff)``, and ``[..., ::d]`` keeps its ``k`` taps; one copy
    then lays the buffer out with the batch folded into the columns, ready for one matrix product
    per group. Positions outside ``large`` read zeros (``window``), which is every padding form.

    >>> from tconv.arguments import transpose_geometry
    >>> g = transpose_geometry((1, 1, 2), (1, 1, 3), stride=2)      # o = i·2 + t
    >>> columns(torch.arange(5.0).reshape(1, 1, 5), g)               # rows t = 0, 1, 2; columns i
    tensor([[[0., 2.],
             [1., 3.],
             [2., 4.]]])
    """
    n = large.shape[0]
    return _im2col(large.reshape(n, g.groups, g.large_channels // g.groups, *g.large), g)


def adjoints(
    y: torch.Tensor, weight: torch.Tensor | None, x: torch.Tensor | None, g: Geometry
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """``(T_wᵀ y, Σ_{n, i} x ⊗ y)`` — the input's and the weight's gradient of a transposed
    convolution whose output's gradient is ``y`` — from one im2col per tile; the first is computed
    only with a ``weight``, the second only with an ``x``.

    :func:`adjoints_phases` instead where :func:`adjoints_phases_fit` says so. Otherwise, per tile
    (images ``n0:n1``, large-side channels ``c0:c1`` of every group):
    ``x_grad[n0:n1] += w[:, tile] · cols`` and ``w_grad[:, tile] += x[n0:n1] · colsᵀ``.

    With fewer than :data:`DEEP` small-side channels per group the weight's product is taken
    transposed, ``w_gradᵀ[:, tile] += cols · x[n0:n1]ᵀ``: the same sums, but the product's long side
    is ``C_l/G·Πk`` rather than ``C_s/G``, which BLAS runs faster (measured, 1 thread: 112 against
    85 GFLOP/s for 32 channels, ``(512 × 16384) @ (16384 × 32)``; equal at 64).
    """
    if adjoints_phases_fit(g):
        return adjoints_phases(y, weight, x, g)
    n, groups, taps = y.shape[0], g.groups, g.taps
    cs, cl, p = g.small_channels // groups, g.large_channels // groups, math.prod(g.small)
    yg = y.reshape(n, groups, cl, *g.large)
    w = None if weight is None else weight.reshape(groups, cs, cl * taps)  # (G, cs, cl·Πk)
    # the input's gradient in its own layout (N, G, cs, Πi): each tile's product lands in a kept
    # workspace and is copied (first channel block) or added (the others) into its images
    gx = None if weight is None else torch.empty((n, groups, cs, p), dtype=y.dtype, device=y.device)
    flip = cs < DEEP  # w_grad accumulated transposed: (G, cl·Πk, cs)
    gw_shape = (groups, cl * taps, cs) if flip else (groups, cs, cl * taps)
    gw = None if x is None else torch.zeros(gw_shape, dtype=y.dtype, device=y.device)
    folded = (-1, -1)
    for n0, n1, c0, c1 in _tiles(g, n, y.element_size()):
        m, c = n1 - n0, c1 - c0
        cols = _im2col(yg[n0:n1, :, c0:c1], g, workspace(groups * c * taps * m * p, y))
        if gx is not None and w is not None:
            product = workspace(groups * cs * m * p, y, 1).view(groups, cs, m * p)
            torch.matmul(w[:, :, c0 * taps : c1 * taps], cols, out=product)
            part = product.view(groups, cs, m, p).permute(2, 0, 1, 3)
            if c0 == 0:
                gx[n0:n1] = part
            else:
                gx[n0:n1] += part
        if gw is not None and x is not None:
            if folded != (n0, n1):  # the images' small side, batch folded: (G, cs, m·Πi)
                xs = x[n0:n1].reshape(m, groups, cs, p).permute(1, 2, 0, 3).reshape(groups, cs, m * p)
                folded = (n0, n1)
            if flip:
                gw[:, c0 * taps : c1 * taps] += cols @ xs.mT
            else:
                gw[:, :, c0 * taps : c1 * taps] += xs @ cols.mT
    if gw is not None and flip:
        gw = gw.mT.contiguous()  # (G, cs, cl·Πk), a small copy
    return (
        None if gx is None else gx.reshape(n, g.small_channels, *g.small),
        None if gw is None else gw.reshape(g.weight_shape),
    )


def conv(y: torch.Tensor, weight: torch.Tensor, g: Geometry) -> torch.Tensor:
    """``x = T_wᵀ y``: per tile, im2col of the tile and one product per group, summed over tiles."""
    grad_x, _ = adjoints(y, weight, None, g)
    assert grad_x is not None
    return grad_x


def weight_correlation(x: torch.Tensor, y: torch.Tensor, g: Geometry) -> torch.Tensor:
    """``w = Σ_{n, i} x ⊗ y`` read through the map: per tile one product per group, summed over images."""
    _, grad_w = adjoints(y, None, x, g)
    assert grad_w is not None
    return grad_w
