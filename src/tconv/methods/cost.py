"""A cost model of the NumPy fast path's arrangements, fitted to measurements: it picks the arrangement.

Each arrangement (:mod:`tconv.methods.gemm_numpy`, :mod:`tconv.methods.gemm_phases`) is the same
few kinds of work in different amounts, and the model adds them up::

    seconds ≈ Σ_products flops · (1 + h_M/M + h_K/K + h_N/N) / P      matrix products (M×K)·(K×N)
            + bytes / B                                                 copies, col2im, im2col
            + calls · c                                                 NumPy calls (overhead each)

A matrix product runs near the peak ``P`` only when all three of its sides are long; ``h_M``,
``h_K``, ``h_N`` are the side lengths at which it runs at half speed (BLAS packs blocks of rows and
columns; a thin side wastes them). ``B`` is the memory bandwidth of the strided copies and
additions; ``c`` the cost of one NumPy call. The model is linear in ``(1/P, h_M/P, h_K/P, h_N/P,
1/B, c)``, so the constants are a non-negative least-squares fit to timed calls — see
:mod:`tconv.bench.calibrate`, which measures every arrangement on the benchmark grid and prints
them. Only the *ranking* of arrangements matters for the choice; the predicted times are shown by
the plan (:func:`tconv.plan`) as the model's verdict.

>>> from tconv.arguments import transpose_geometry
>>> g = transpose_geometry((8, 64, 32, 32), (64, 64, 4, 4), stride=2, padding=1)
>>> sorted(predict(g))
['channels_first', 'channels_last', 'phases']
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

__all__ = ["Features", "features", "predict", "COEFFICIENTS", "ARRANGEMENTS"]

ARRANGEMENTS = ("reshape", "channels_first", "channels_last", "phases")

#: ``(1/P, h_M/P, h_K/P, h_N/P, 1/B, c)`` in seconds per flop, per byte and per call, fitted by
#: :mod:`tconv.bench.calibrate` (one thread, CPU time, on the grid of ``tconv bench --grid``); see
#: docs/performance.md for the run. Only their ratios matter to the choice.
COEFFICIENTS = (7.6e-12, 1.3e-10, 0.0, 3.8e-10, 8.8e-11, 1.0e-6)
#: Bytes of the column buffer per tile: as :data:`tconv.methods.gemm_numpy.WORKSPACE_BYTES`.
_BUDGET = 8 * 2**20


@dataclass(frozen=True)
class Features:
    """The work of one call in the model's terms: the linear features of :data:`COEFFICIENTS`."""

    flops: float
    flops_per_m: float
    flops_per_k: float
    flops_per_n: float
    bytes: float
    calls: float

    def seconds(self, coefficients: tuple[float, ...] = COEFFICIENTS) -> float:
        """The predicted time."""
        return sum(c * f for c, f in zip(coefficients, self.vector()))

    def vector(self) -> tuple[float, ...]:
        return (self.flops, self.flops_per_m, self.flops_per_k, self.flops_per_n, self.bytes, self.calls)


def _product(count: float, m: int, k: int, n: int) -> tuple[float, float, float, float]:
    """Features of ``count`` products ``(m×k)·(k×n)``."""
    f = 2.0 * count * m * k * n
    return f, f / max(m, 1), f / max(k, 1), f / max(n, 1)


def _tiles(images: int, per_image: int) -> int:
    """How many tiles the column buffer takes (images per tile, or one image split)."""
    return (
        max(1, math.ceil(images * per_image / _BUDGET))
        if per_image <= _BUDGET
        else images * math.ceil(per_image / _BUDGET)
    )


def features(g, arrangement: str, item: int = 4) -> Features:
    """The model's features for geometry ``g`` (batched) computed by ``arrangement``.

    Mirrors the arrangements' code closely enough to rank them: the tiling by ``WORKSPACE_BYTES``,
    folding the batch into the product for small images, and which buffers are written and read.
    Groups run one after another, so every feature is one group's times ``G``; a call's fixed
    overhead (checking, planning, the output) counts as 10 NumPy calls.
    """
    n, groups = g.batch or 1, g.groups
    cig, cog = g.small_channels // groups, g.large_channels // groups
    taps, p, o = g.taps, math.prod(g.small), math.prod(g.large)
    cols = n * cog * taps * p  # column-buffer elements
    x_el, y_el, w_el = n * cig * p, n * cog * o, cig * cog * taps
    if arrangement == "phases":
        from tconv.methods.gemm_phases import phase_plan

        plan = phase_plan(g)
        prod, im, calls = (0.0, 0.0, 0.0, 0.0), 0.0, 0.0
        for ph in plan.phases:
            q, t_r = math.prod(ph.size), len(ph.taps)
            fold = n > 1 and q < 256
            one = _product(1 if fold else n, cog, t_r * cig, n * q if fold else q)
            prod = tuple(a + b for a, b in zip(prod, one))  # type: ignore[assignment]
            im += t_r * cig * n * q
            calls += _tiles(n, (t_r * cig + cog) * q * item) * (t_r + 4)
        # the phase weights are a copy of the weight (read and written once per call)
        bytes_ = item * (2 * im + (4 if plan.zero_fill else 3) * y_el + 2 * x_el + 2 * w_el)
    else:
        tiles = _tiles(n, cog * taps * p * item)
        fold = n > 1 and p < 1024
        if arrangement == "channels_last":
            prod = _product(1, n * p, cig, cog * taps)
            bytes_ = item * (4 * cols + 6 * y_el + 2 * x_el + 2 * w_el)  # the weight blocks are copies
            calls = tiles * (taps + 4)
        else:
            prod = _product(1 if fold else n, cog * taps, cig, n * p if fold else p)
            if arrangement == "reshape":
                bytes_ = item * 3 * cols
                calls = tiles * (taps + 2)
            else:  # channels_first: GEMM writes cols; each tap adds into its phase buffer; phases copied out
                phases = math.prod(min(s, k) for s, k in zip(g.stride, g.kernel))
                bytes_ = item * (4 * cols + 3 * y_el)
                calls = tiles * (taps + 2 * phases + 2)
    f, f_m, f_k, f_n = (groups * v for v in prod)
    return Features(f, f_m, f_k, f_n, groups * bytes_, groups * calls + 10)


def possible(g) -> tuple[str, ...]:
    """The arrangements that apply to ``g`` (``reshape`` only where ``k == s`` and nothing overlaps)."""
    reshape = all(
        k == s and (d == 1 or k == 1) and b == 0 for k, s, d, b in zip(g.kernel, g.stride, g.dilation, g.begin)
    ) and g.large == tuple(i * s for i, s in zip(g.small, g.stride))
    return ARRANGEMENTS if reshape else ARRANGEMENTS[1:]


@functools.lru_cache(maxsize=256)
def predict(g) -> dict[str, float]:
    """Predicted seconds of each arrangement that applies to ``g``."""
    return {a: features(g, a).seconds() for a in possible(g)}
