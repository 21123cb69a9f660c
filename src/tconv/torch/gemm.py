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
"""

from __future__ import annotations

import math
import threading

import torch

from tconv.arrays import window
from tconv.geometry import Geometry
from tconv.methods.gemm_numpy import tap_slices
from tconv.methods.gemm_tiles import tiles

__all__ = ["transpose", "conv", "weight_correlation", "adjoints", "columns", "BUDGET"]

#: Bytes of column buffer per tile, and of the workspace kept per thread, dtype and device.
BUDGET = 16 * 2**20
_LOCAL = threading.local()


def _workspace(numel: int, like: torch.Tensor) -> torch.Tensor:
    """A buffer of ``numel`` elements of ``like``'s dtype and device: this thread's kept workspace
    when it is large enough (at most :data:`BUDGET` bytes are kept), else a fresh one."""
    key = (like.dtype, like.device)
    kept = getattr(_LOCAL, "buffers", None)
    if kept is None:
        kept = _LOCAL.buffers = {}
    buf = kept.get(key)
    if buf is None or buf.numel() < numel:
        buf = torch.empty(numel, dtype=like.dtype, device=like.device)
        if numel * buf.element_size() <= BUDGET:
            kept[key] = buf
    return buf[:numel]


def _tiles(g: Geometry, n: int, item: int):
    """Tiles ``(n0, n1, c0, c1)`` of images × large-side channels (of every group) whose column
    buffer fits in :data:`BUDGET`."""
    return tiles(n, g.large_channels // g.groups, g.groups * g.taps * math.prod(g.small) * item, BUDGET)


def transpose(x: torch.Tensor, weight: torch.Tensor, g: Geometry) -> torch.Tensor:
    """``y = T_w x``: per tile one product ``(c·Πk × C_s/G) @ (C_s/G × m·Πi)`` per group, then col2im
    into the cropped output.

    >>> from tconv.arguments import transpose_geometry
    >>> x = torch.tensor([[[1., 2.]]]); w = torch.tensor([[[1., 10., 100.]]])
    >>> transpose(x, w, transpose_geometry(x.shape, w.shape, stride=2))
    tensor([[[  1.,  10., 102.,  20., 200.]]])
    """
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
        cols = _workspace(groups * c * taps * m * p, x).view(groups, c * taps, m * p)
        torch.matmul(wt[:, c0 * taps : c1 * taps], xf, out=cols)
        cols = cols.view(groups, c, taps, m, *g.small).permute(3, 0, 1, 2, *range(4, 4 + nd))
        block = out[n0:n1, :, c0:c1]
        for j, src, dst in tap_slices(g):
            block[(every, every, every, *dst)] += cols[(every, every, every, j, *src)]
    return out.reshape(n, g.large_channels, *g.large)


def _im2col(block: torch.Tensor, g: Geometry, out: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`columns` of ``block`` ``(m, G, c, *o)`` — some images, some channels of every group —
    as ``(G, c·Πk, m·Πi)``, written into ``out`` (a flat buffer) when given."""
    m, groups, c, nd = block.shape[0], g.groups, block.shape[2], g.ndim
    full = window(block, tuple(-b for b in g.begin), g.full)
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

    Per tile (images ``n0:n1``, large-side channels ``c0:c1`` of every group):
    ``x_grad[n0:n1] += w[:, tile] · cols`` and ``w_grad[:, tile] += x[n0:n1] · colsᵀ``.
    """
    n, groups, taps = y.shape[0], g.groups, g.taps
    cs, cl, p = g.small_channels // groups, g.large_channels // groups, math.prod(g.small)
    yg = y.reshape(n, groups, cl, *g.large)
    w = None if weight is None else weight.reshape(groups, cs, cl * taps)  # (G, cs, cl·Πk)
    gx = None if weight is None else torch.zeros((groups, cs, n, p), dtype=y.dtype, device=y.device)
    gw = None if x is None else torch.zeros((groups, cs, cl * taps), dtype=y.dtype, device=y.device)
    folded = (-1, -1)
    for n0, n1, c0, c1 in _tiles(g, n, y.element_size()):
        m, c = n1 - n0, c1 - c0
        cols = _im2col(yg[n0:n1, :, c0:c1], g, _workspace(groups * c * taps * m * p, y))
        if gx is not None and w is not None:
            gx[:, :, n0:n1] += (w[:, :, c0 * taps : c1 * taps] @ cols).view(groups, cs, m, p)
        if gw is not None and x is not None:
            if folded != (n0, n1):  # the images' small side, batch folded: (G, cs, m·Πi)
                xs = x[n0:n1].reshape(m, groups, cs, p).permute(1, 2, 0, 3).reshape(groups, cs, m * p)
                folded = (n0, n1)
            gw[:, :, c0 * taps : c1 * taps] += xs @ cols.mT
    return (
        None if gx is None else gx.permute(2, 0, 1, 3).reshape(n, g.small_channels, *g.small),
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
