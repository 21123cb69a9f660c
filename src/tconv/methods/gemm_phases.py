"""The ``phases`` arrangement of the NumPy fast path: one matrix product per output phase, no col2im.

Tap ``t`` of an axis sends input ``i`` to ``o = i·s + t·d − b``. Writing ``t·d − b = q₀·s + r``
(``0 ≤ r < s``) the tap feeds only the outputs ``o ≡ r (mod s)`` — output *phase* ``r`` — at
``q = i + q₀`` of that phase. So each phase is an ordinary stride-1 correlation of the input with the
taps that feed it::

    y[n, co, q·s + r] = Σ_{t → r} Σ_ci w[ci, co, t] · x[n, ci, q − q₀(t)]      (x = 0 outside [0, I))

and, per phase, that is *one* matrix product of the phase's weights ``(C_out × T_r·C_in)`` with an
im2col of the small input ``(T_r·C_in × N·Q)`` — ``T_r`` shifted copies of the input, ``T_r ≈ Πk/Πs``.
Its result is written once into the phase's strided positions of the output. Against GEMM + col2im
(:mod:`tconv.methods.gemm_numpy`): no column buffer ``Πk`` times the input read back and summed,
no read-modify-write of the output, and the product's inner dimension is ``T_r·C_in`` rather than
``C_in`` (4× on a k4 s2 2-D layer), which BLAS runs closer to its peak. The price: the im2col copy
(``T_r`` copies of the input per phase, ``Πk`` in all) and the few multiplications by the zero border
(the taps whose shifted input runs past an edge).

Per axis the input is padded once: ``PL = max(0, max q₀)`` zeros at the start, so that tap ``t``
of phase ``r`` reads the contiguous slice ``[PL − q₀, PL − q₀ + Q_r)`` of the padded input, with
``Q_r = ⌈(O − r)/s⌉`` outputs in the phase.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np

from tconv.methods.gemm_tiles import blocks as row_blocks
from tconv.taps import flat_index, tap_map

__all__ = ["PhasePlan", "phase_plan", "phases"]


@dataclass(frozen=True)
class Phase:
    """One output phase: its strided output slices, its size ``Q`` and its taps.

    ``taps`` are flat tap indices (the weight's row-major order); ``starts`` the start of each tap's
    slice of the padded input, per axis.
    """

    where: tuple[slice, ...]
    size: tuple[int, ...]
    taps: tuple[int, ...]
    starts: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class PhasePlan:
    """Every phase of a geometry, the padding of the input, and whether some output stays zero."""

    phases: tuple[Phase, ...]
    pad: tuple[tuple[int, int], ...]  # (before, after) per axis
    zero_fill: bool  # a phase without taps: its outputs are zero, the output must start zeroed

    @property
    def max_taps(self) -> int:
        return max((len(p.taps) for p in self.phases), default=0)


@functools.lru_cache(maxsize=256)
def phase_plan(g) -> PhasePlan:
    """The phases of geometry ``g`` (cached: layers call with the same geometry again and again).

    The phases and taps are the tap map's (:mod:`tconv.taps`): per axis, tap ``t`` with
    ``off = t·d − b = q₀·s + r`` feeds phase ``r`` at ``q = i + q₀``; a phase no tap feeds stays zero.

    >>> from tconv.arguments import transpose_geometry
    >>> p = phase_plan(transpose_geometry((1, 1, 4), (1, 1, 4), stride=2, padding=1))
    >>> [(ph.taps, ph.starts) for ph in p.phases], p.pad
    ([((1, 3), ((1,), (0,))), ((0, 2), ((2,), (1,)))], ((1, 1),))
    """
    axes = tap_map(g)
    pads = []
    for ax in axes:
        shifts = [tap.shift for tap in ax.taps]
        # the first element read is q − q₀ = −q₀ (q = 0), the last Q_r − 1 − q₀: both inside the padded input
        before = max(0, *shifts) if shifts else 0
        after = max([0] + [p.size - 1 - tap.shift - (ax.small - 1) for p in ax.phases for tap in p.taps])
        pads.append((before, after))
    phases = []
    for combo in itertools.product(*(ax.phases for ax in axes)):
        taps, starts = [], []
        for tq in itertools.product(*(p.taps for p in combo)):
            taps.append(flat_index(tq, g.kernel))
            starts.append(tuple(pad[0] - tap.shift for tap, pad in zip(tq, pads)))
        phases.append(
            Phase(
                where=tuple(slice(p.phase, None, ax.stride) for p, ax in zip(combo, axes)),
                size=tuple(p.size for p in combo),
                taps=tuple(taps),
                starts=tuple(starts),
            )
        )
    return PhasePlan(tuple(phases), tuple(pads), not all(ax.covered for ax in axes))


def phases(x, w, out, g, item: int, budget: int) -> None:
    """The ``phases`` arrangement for one group: ``x`` ``(N, C_in, Πi)``, ``w`` ``(C_in, C_out·Πk)``
    (rows ``(co, t)``), ``out`` ``(N, C_out, *O)``, written in full (zeroed by the caller if
    :attr:`PhasePlan.zero_fill`).

    Small phases fold the batch into the product's columns (``(C_in, N, *I)`` im2col, one product
    with ``N·ΠQ`` columns); larger ones run one product per image (``(N, K, ΠQ)``, NumPy's batched
    matmul), which writes ``(N, C_out, ΠQ)`` — the output's own order. Images, then rows of the
    phase's first axis, are tiled so that the im2col and product buffers fit in ``budget`` bytes.
    """
    n, cig, _ = x.shape
    cog, taps = out.shape[1], g.taps
    plan = phase_plan(g)
    nd = g.ndim
    xs = x.reshape(n, cig, *g.small)
    if any(a or b for a, b in plan.pad):
        xp = np.zeros((n, cig, *(i + a + b for i, (a, b) in zip(g.small, plan.pad))), dtype=x.dtype)
        xp[(slice(None), slice(None), *(slice(a, a + i) for i, (a, _) in zip(g.small, plan.pad)))] = xs
    else:
        xp = xs
    w4 = w.reshape(cig, cog, taps)
    for ph in plan.phases:
        t_r, q = len(ph.taps), ph.size
        k_dim, pq = t_r * cig, math.prod(q)
        # phase weights (C_out, T_r·C_in): wr[co, (j, ci)] = w[ci, co, t_j]
        wr = np.ascontiguousarray(w4[:, :, list(ph.taps)].transpose(1, 2, 0)).reshape(cog, k_dim)
        fold = n > 1 and pq < 256
        row = pq // q[0]  # elements per row of the phase's first axis
        per_image = (k_dim + cog) * pq * item
        if per_image <= budget:
            blocks = [(a, b, 0, q[0]) for a, b in row_blocks(n, per_image, budget)]
        else:
            blocks = [
                (i, i + 1, a, b) for i in range(n) for a, b in row_blocks(q[0], (k_dim + cog) * row * item, budget)
            ]
        for n0, n1, r0, r1 in blocks:
            m, rows = n1 - n0, r1 - r0
            qb = (rows, *q[1:])
            cols = m * rows * row
            dst = out[n0:n1][(slice(None), slice(None), *ph.where)][:, :, r0:r1]
            # each tap's window of the padded input: these images, rows r0:r1 of the phase, shifted
            sources = [
                (
                    slice(n0, n1),
                    slice(None),
                    slice(st[0] + r0, st[0] + r1),
                    *(slice(a, a + b) for a, b in zip(st[1:], q[1:])),
                )
                for st in ph.starts
            ]
            if fold:
                im = np.empty((t_r, cig, m, *qb), dtype=x.dtype)
                for j, src in enumerate(sources):
                    np.copyto(im[j], xp[src].transpose(1, 0, *range(2, 2 + nd)))
                y = wr @ im.reshape(k_dim, cols)  # (C_out, m·ΠQ)
                np.copyto(dst, y.reshape(cog, m, *qb).transpose(1, 0, *range(2, 2 + nd)))
            else:
                im = np.empty((m, t_r, cig, *qb), dtype=x.dtype)
                for j, src in enumerate(sources):
                    im[:, j] = xp[src]
                y = np.matmul(wr, im.reshape(m, k_dim, rows * row))  # (m, C_out, ΠQ)
                dst[...] = y.reshape(m, cog, *qb)
