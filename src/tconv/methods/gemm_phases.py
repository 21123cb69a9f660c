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

    Per axis and tap ``t``: ``off = t·d − b = q₀·s + r``; the tap is kept if some input lands in the
    output, i.e. ``max(0, q₀) < min(Q_r, I + q₀)``.

    >>> from tconv.arguments import transpose_geometry
    >>> p = phase_plan(transpose_geometry((1, 1, 4), (1, 1, 4), stride=2, padding=1))
    >>> [(ph.taps, ph.starts) for ph in p.phases], p.pad
    ([((1, 3), ((1,), (0,))), ((0, 2), ((2,), (1,)))], ((1, 1),))
    """
    per_axis = []  # per axis: {r: [(t, q0)]}, Q per r
    pads = []
    zero_fill = False
    for i_size, o_size, k, s, d, b in zip(g.small, g.large, g.kernel, g.stride, g.dilation, g.begin):
        # only the phases some tap feeds (at most k of the min(s, O) phases: a stride of 10⁶ must not
        # cost 10⁶ entries); the others stay zero
        by_phase: dict[int, list[tuple[int, int]]] = {}
        sizes: dict[int, int] = {}
        for t in range(k):
            off = t * d - b
            r, q0 = off % s, off // s
            size = -(-(o_size - r) // s)
            if r < o_size and max(0, q0) < min(size, i_size + q0):
                by_phase.setdefault(r, []).append((t, q0))
                sizes[r] = size
        zero_fill = zero_fill or len(by_phase) < min(s, o_size)
        shifts = [q0 for taps in by_phase.values() for _, q0 in taps]
        before = max(0, *shifts) if shifts else 0
        # the last element read is q − q₀ = Q_r − 1 − q₀, which must lie inside the padded input
        after = max([0] + [sizes[r] - 1 - q0 - (i_size - 1) for r, taps in by_phase.items() for _, q0 in taps])
        pads.append((before, after))
        per_axis.append((by_phase, sizes, s))
    phases = []
    for combo in itertools.product(*(sorted(a[0]) for a in per_axis)):
        lists = [a[0][r] for a, r in zip(per_axis, combo)]
        taps, starts = [], []
        for tq in itertools.product(*lists):
            j = 0
            for (t, _), k in zip(tq, g.kernel):
                j = j * k + t
            taps.append(j)
            starts.append(tuple(pad[0] - q0 for (_, q0), pad in zip(tq, pads)))
        phases.append(
            Phase(
                where=tuple(slice(r, None, a[2]) for r, a in zip(combo, per_axis)),
                size=tuple(a[1][r] for r, a in zip(combo, per_axis)),
                taps=tuple(taps),
                starts=tuple(starts),
            )
        )
    return PhasePlan(tuple(phases), tuple(pads), zero_fill)


def _row_blocks(rows: int, per_row: int, budget: int):
    size = max(1, min(rows, budget // max(per_row, 1)))
    count = -(-rows // size)
    size = -(-rows // count)
    return [(a, min(a + size, rows)) for a in range(0, rows, size)]


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
            blocks = [(a, b, 0, q[0]) for a, b in _row_blocks(n, per_image, budget)]
        else:
            blocks = [
                (i, i + 1, a, b) for i in range(n) for a, b in _row_blocks(q[0], (k_dim + cog) * row * item, budget)
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
