"""The torch layer's phase forms: ``transpose`` and its two adjoints without a column buffer.

Where the product is shallow (few small-side channels), col2im is the larger part of the column-
buffer form (:func:`tconv.torch.gemm.transpose`) — ``Πk`` read-modify-writes of the output, strided
by ``s``, for one product whose depth is only ``C_s``. Here each output phase is instead a stride-1
correlation of the small side, computed as products on shifted views of one zero-padded copy of it
(:func:`transpose_phases`, where :func:`phases_fit`), and the two adjoints read shifted views of the
large side's phases, copied once (:func:`adjoints_phases`, where :func:`adjoints_phases_fit`).
"""

from __future__ import annotations

import itertools
import math

import torch

from tconv.geometry import Geometry
from tconv.taps import flat_index, tap_map
from tconv.torch.workspace import BUDGET, workspace

__all__ = ["transpose_phases", "phases_fit", "adjoints_phases", "adjoints_phases_fit", "PHASE_BLOCK", "MIN_COLUMNS"]

#: Bytes of one phase's accumulator in :func:`transpose_phases` (a tile of images): measured best
#: at 4 MiB on the weak U-Net layers (1 thread; 0.5–16 MiB tried), where it stays in a core's cache.
PHASE_BLOCK = 4 * 2**20
#: Fewest input positions (batch × Πi, the products' columns) for the phase forms: below it each
#: of their ``Πk`` products is too short to pay for its call (1-D k25 s4 on 200 samples: 25 products
#: of 200 columns, 1.5× the column buffer's time in the training step).
MIN_COLUMNS = 2048


def _phase_grid(g: Geometry):
    """The zero-padded grid of :func:`transpose_phases`: per axis the padding ``P`` before the input
    and the grid's size ``H``, then the flat strides of the grid and the largest flat shift.

    On one axis a tap of shift ``q₀`` reads, for phase position ``q ∈ [0, Q_r)``, the input
    ``i = q − q₀``; stored at ``a = i + P``, that is ``a = q + (P − q₀)``. With ``P = max(0, max q₀)``
    every ``P − q₀ ≥ 0``, and ``H = P + max(I, max_r Q_r − min q₀)`` holds every ``a`` read and
    every ``q`` written."""
    axes = tap_map(g)
    pads = tuple(max(0, max(t.shift for t in ax.taps)) for ax in axes)
    grid = tuple(
        p + max(ax.small, max(ph.size for ph in ax.phases) - min(t.shift for t in ax.taps)) for p, ax in zip(pads, axes)
    )
    strides = tuple(math.prod(grid[a + 1 :]) for a in range(len(grid)))
    reach = sum((p - min(t.shift for t in ax.taps)) * st for p, ax, st in zip(pads, axes, strides))
    return axes, pads, grid, strides, reach


def phases_fit(g: Geometry) -> bool:
    """Whether :func:`transpose` takes :func:`transpose_phases`: the product is shallow
    (``C_s/G ≤ 128``) but not thin (``C_l/G ≥ 16``), the padded grid adds at most 45 % to the
    input, the layer has 20 M multiply-adds or more and the batch's input positions number at
    least :data:`MIN_COLUMNS`.

    Measured (1 thread, forward alone, the grid's layers and 20 random ones, every layer of 20 M
    multiply-adds or more): phases took 0.56–0.85 of the col2im form's time on every such layer with
    overlapping taps (the U-Net k4 s2 and k3 s2 layers with 32–128 channels, 3-D k3 and k4, 1-D k4
    s2), 0.67–1.06 where ``k = s``, and 1.0–10× on deep products (``C_s ≥ 256``: one deep product
    runs at BLAS's peak and col2im is a small part of it), on small images (a 4×4 image pads to
    6×6), on thin products (``C_l = 3``) and, below 20 M multiply-adds, Python's cost per product."""
    if g.macs < 20_000_000 or (g.batch or 1) * math.prod(g.small) < MIN_COLUMNS:
        return False
    cs, cl = g.small_channels // g.groups, g.large_channels // g.groups
    if not (cs <= 128 and cl >= 16) or any(not ax.taps for ax in tap_map(g)):
        return False
    _, _, grid, _, _ = _phase_grid(g)
    return math.prod(grid) <= 1.45 * math.prod(g.small)


def transpose_phases(x: torch.Tensor, weight: torch.Tensor, g: Geometry) -> torch.Tensor:
    """``y = T_w x`` one output phase at a time: products on shifted views of the padded input.

    On each axis the output ``o = s·q + r`` of phase ``r`` receives only the taps with
    ``t·d − b = q₀·s + r`` (:mod:`tconv.taps`), from the input ``i = q − q₀``:

        y_r[cl, q] = Σ_{taps of r} Σ_{cs} w[cs, cl, t] · x[cs, q − q₀]

    — a stride-1 correlation of ``x`` with the phase's sub-kernel. Store ``x`` zero-padded in a grid
    (:func:`_phase_grid`), flattened with the batch: ``x[cs, n, i]`` at column
    ``f(n, i + P) = n·ΠH + Σ_a (i_a + P_a)·stride_a``. Phase position ``q`` in the same grid is column
    ``f(n, q)``, and the input it needs from tap ``t`` sits at ``f(n, q) + Δ_t``, ``Δ_t = Σ_a (P_a − q₀_a)·stride_a``
    — one shift for every column. So the phase is a sum of products on column-shifted views,

        Y_r[G, cl, :] = Σ_{taps t of r}  w_tᵀ[G, cl, cs] @ X[G, cs, Δ_t : Δ_t + M]

    (``M`` columns; the grid's padding columns compute values nobody reads; ``X`` has ``max Δ``
    zero columns more at its end), accumulated in one accumulator of :data:`PHASE_BLOCK` bytes per
    tile of images, then copied into every ``s``-th output from ``r``. The arithmetic is the col2im
    form's times ``ΠH/Πi`` (the padding), with no column buffer: each product's ``Πk`` partial sums
    land in a small accumulator, where col2im added ``Πk`` strided slices into the whole output.
    Phases that no tap feeds stay zero.

    >>> from tconv.arguments import transpose_geometry
    >>> x = torch.tensor([[[1., 2.]]]); w = torch.tensor([[[1., 10., 100.]]])
    >>> transpose_phases(x, w, transpose_geometry(x.shape, w.shape, stride=2))
    tensor([[[  1.,  10., 102.,  20., 200.]]])
    """
    n, groups, nd = x.shape[0], g.groups, g.ndim
    if any(not ax.taps for ax in tap_map(g)):  # every tap in the crop on some axis: nothing lands
        return torch.zeros((n, g.large_channels, *g.large), dtype=x.dtype, device=x.device)
    axes, pads, grid, strides, reach = _phase_grid(g)
    cs, cl = g.small_channels // groups, g.large_channels // groups
    cell, item = math.prod(grid), x.element_size()
    covered = all(ax.covered for ax in axes)
    out = (torch.empty if covered else torch.zeros)((n, groups, cl, *g.large), dtype=x.dtype, device=x.device)
    # (Πk, G, cl, cs): each tap's matrix dense, as BLAS takes it without a copy (one small copy here)
    w = weight.reshape(groups, cs, cl, g.taps).permute(3, 0, 2, 1).contiguous()
    xg = x.reshape(n, groups, cs, *g.small)
    # images per tile: the accumulator within PHASE_BLOCK, the padded input (and its reach) within BUDGET
    m = max(1, min(n, PHASE_BLOCK // (groups * cl * cell * item), (BUDGET // (groups * cs * item) - reach) // cell))
    inside = (..., *(slice(p, p + i) for p, i in zip(pads, g.small)))
    every = slice(None)
    for n0 in range(0, n, m):
        n1 = min(n, n0 + m)
        cols = (n1 - n0) * cell
        padded = workspace(groups * cs * (cols + reach), x, 1).view(groups, cs, cols + reach).zero_()
        padded[:, :, :cols].view(groups, cs, n1 - n0, *grid)[inside] = xg[n0:n1].permute(1, 2, 0, *range(3, 3 + nd))
        acc = workspace(groups * cl * cols, x, 2).view(groups, cl, cols)
        for phase in itertools.product(*(ax.phases for ax in axes)):
            for k, taps in enumerate(itertools.product(*(ph.taps for ph in phase))):
                shift = sum((p - t.shift) * st for p, t, st in zip(pads, taps, strides))
                j = flat_index(taps, g.kernel)
                for group in range(groups):  # 2-D products: a batched one copies the shifted view
                    view = padded[group, :, shift : shift + cols]
                    if k == 0:
                        torch.mm(w[j, group], view, out=acc[group])
                    else:
                        acc[group].addmm_(w[j, group], view)
            result = acc.view(groups, cl, n1 - n0, *grid)[(..., *(slice(0, ph.size) for ph in phase))]
            dst = (slice(n0, n1), every, every, *(slice(ph.phase, None, ax.stride) for ph, ax in zip(phase, axes)))
            out[dst] = result.permute(2, 0, 1, *range(3, 3 + nd))
    return out.reshape(n, g.large_channels, *g.large)


def _adjoint_grid(g: Geometry):
    """The zero-padded grid of :func:`adjoints_phases`: per axis the padding ``P`` before each phase of
    the large side and the grid's size ``H``, the flat strides and the largest flat shift.

    Tap ``t`` (shift ``q₀``) reads, for the input position ``i``, phase position ``q = i + q₀``;
    stored at ``a = q + P``, ``P = max(0, −min q₀)``, that is ``a = i + (q₀ + P)`` with
    ``q₀ + P ≥ 0``. ``H = P + max(max_r Q_r, I + max q₀)`` holds every phase position and every
    ``a`` read, so positions ``q`` outside ``[0, Q_r)`` read the grid's zeros."""
    axes = tap_map(g)
    pads = tuple(max(0, -min(t.shift for t in ax.taps)) for ax in axes)
    grid = tuple(
        p + max(max(ph.size for ph in ax.phases), ax.small + max(t.shift for t in ax.taps)) for p, ax in zip(pads, axes)
    )
    strides = tuple(math.prod(grid[a + 1 :]) for a in range(len(grid)))
    reach = sum((p + max(t.shift for t in ax.taps)) * st for p, ax, st in zip(pads, axes, strides))
    return axes, pads, grid, strides, reach


def adjoints_phases_fit(g: Geometry) -> bool:
    """Whether :func:`adjoints` takes :func:`adjoints_phases`: 16–128 small-side and at least 16
    large-side channels per group, every phase read by four taps or more on average
    (``Πk ≥ 4·Πs``: im2col would write four times the large side or more), a padded grid at most
    15 % larger than the small side, 20 M multiply-adds or more and :data:`MIN_COLUMNS` input
    positions or more.

    Measured (1 thread, both gradients, against the column buffer's :func:`adjoints`): 0.84–0.97
    on the grid's k4 s2 U-Net layers with 32–128 channels; 1.05–1.6 where phases read fewer taps
    (k3 s2: 9 taps for 4 phases, k2 s2, 1-D k4 s2), where the grid pads more (3-D, 16×16 images)
    or where the product is deep — there the copies of the phases, of the padded input and of the
    gradient out of its grid cost more than im2col saves."""
    if g.macs < 20_000_000 or (g.batch or 1) * math.prod(g.small) < MIN_COLUMNS:
        return False
    cs, cl = g.small_channels // g.groups, g.large_channels // g.groups
    if not (16 <= cs <= 128 and cl >= 16) or g.taps < 4 * math.prod(g.stride):
        return False
    if any(not ax.taps for ax in tap_map(g)):
        return False
    _, _, grid, _, _ = _adjoint_grid(g)
    return math.prod(grid) <= 1.15 * math.prod(g.small)


def adjoints_phases(
    y: torch.Tensor, weight: torch.Tensor | None, x: torch.Tensor | None, g: Geometry
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """:func:`adjoints` with no column buffer: each tap's products read shifted views of the large
    side's phases.

    Tap ``t`` reads ``y[i·s + t·d − b] = y_r[i + q₀]``, position ``i + q₀`` of phase ``r`` (the
    tap map of :mod:`tconv.taps`), so

        x_grad[cs, i]      = Σ_t Σ_{cl} w[cs, cl, t] · y_r[cl, i + q₀]           (a stride-1 correlation per phase)
        w_grad[cs, cl, t]  = Σ_{n, i}  x[cs, n, i] · y_r[cl, n, i + q₀]

    Each phase of ``y`` is copied once (every ``s``-th element) into a zero-padded grid shared with
    ``x`` (:func:`_adjoint_grid`); flattened with the batch, ``i + q₀`` is then the column of ``i``
    plus one shift ``Δ_t`` for every column, so both sums are products on column-shifted views:

        X_grad[G, cs, :]   += w_t[G, cs, cl] @ Y_r[G, cl, Δ_t : Δ_t + M]
        W_grad_t[G, cs, cl] += X[G, cs, :M] @ Y_r[G, cl, Δ_t : Δ_t + M]ᵀ

    with ``X`` the zero-padded ``x`` (its zeros cancel the columns that are no input position).
    im2col wrote ``Πk/Πs`` times the large side and both products read it back; here the large
    side is copied once and the products' operands (``C_s/G`` and ``C_l/G`` rows) stay in cache
    across the taps: BLAS ran these shallow per-tap products at 106–163 GFLOP/s on one core, the
    column buffer's at 62–106 (``(C_s × C_l·Πk) @ (C_l·Πk × N)`` with ``C_s = 32 … 64``).
    """
    n, groups, nd = y.shape[0], g.groups, g.ndim
    if any(not ax.taps for ax in tap_map(g)):  # every tap in the crop on some axis: both gradients zero
        return (
            None if weight is None else torch.zeros((n, g.small_channels, *g.small), dtype=y.dtype, device=y.device),
            None if x is None else torch.zeros(g.weight_shape, dtype=y.dtype, device=y.device),
        )
    axes, pads, grid, strides, reach = _adjoint_grid(g)
    cs, cl = g.small_channels // groups, g.large_channels // groups
    cell, item = math.prod(grid), y.element_size()
    phases = list(itertools.product(*(ax.phases for ax in axes)))
    yg = y.reshape(n, groups, cl, *g.large)
    # (Πk, G, cs, cl): each tap's matrix dense, as BLAS takes it without a copy
    w = None if weight is None else weight.reshape(groups, cs, cl, g.taps).permute(3, 0, 1, 2).contiguous()
    # images per tile: the phases (and their reach), the padded input and the accumulator each within BUDGET
    rows = groups * len(phases) * cl
    m = max(1, min(n, (BUDGET // (rows * item) - reach) // cell, BUDGET // (groups * cs * cell * item)))
    gx = None if w is None else torch.empty((n, groups, cs, *g.small), dtype=y.dtype, device=y.device)
    gw = None if x is None else torch.zeros((g.taps, groups, cs, cl), dtype=y.dtype, device=y.device)
    inside = (..., *(slice(0, i) for i in g.small))
    every = slice(None)
    for n0 in range(0, n, m):
        n1 = min(n, n0 + m)
        cols = (n1 - n0) * cell
        ys = workspace(len(phases) * groups * cl * (cols + reach), y, 0).view(len(phases), groups, cl, cols + reach)
        ys.zero_()
        src = yg[n0:n1].permute(1, 2, 0, *range(3, 3 + nd))  # (G, cl, m, *o)
        for k, phase in enumerate(phases):
            ys[k, :, :, :cols].view(groups, cl, n1 - n0, *grid)[
                (..., *(slice(p, p + ph.size) for p, ph in zip(pads, phase)))
            ] = src[(every, every, every, *(slice(ph.phase, None, ax.stride) for ph, ax in zip(phase, axes)))]
        if gw is not None and x is not None:
            xs = workspace(groups * cs * cols, y, 1).view(groups, cs, cols).zero_()
            xs.view(groups, cs, n1 - n0, *grid)[inside] = (
                x[n0:n1].reshape(n1 - n0, groups, cs, *g.small).permute(1, 2, 0, *range(3, 3 + nd))
            )
        if gx is not None:
            acc = workspace(groups * cs * cols, y, 2).view(groups, cs, cols)
        first = True
        for k, phase in enumerate(phases):
            for taps in itertools.product(*(ph.taps for ph in phase)):
                shift = sum((p + t.shift) * st for p, t, st in zip(pads, taps, strides))
                j = flat_index(taps, g.kernel)
                for group in range(groups):  # 2-D products: a batched one copies the shifted view
                    view = ys[k, group, :, shift : shift + cols]
                    if gx is not None and w is not None:
                        if first:
                            torch.mm(w[j, group], view, out=acc[group])
                        else:
                            acc[group].addmm_(w[j, group], view)
                    if gw is not None:
                        gw[j, group].addmm_(xs[group], view.mT)
                first = False
        if gx is not None:
            if first:  # no tap reaches the output: the gradient is zero
                gx[n0:n1] = 0
            else:
                gx[n0:n1] = acc.view(groups, cs, n1 - n0, *grid)[inside].permute(2, 0, 1, *range(3, 3 + nd))
    return (
        None if gx is None else gx.reshape(n, g.small_channels, *g.small),
        None if gw is None else gw.permute(1, 2, 3, 0).reshape(g.weight_shape),
    )
