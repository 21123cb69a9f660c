"""A cost model of the NumPy fast path's arrangements, fitted to measurements: it picks the arrangement.

Each arrangement (:mod:`tconv.methods.gemm_numpy`, :mod:`tconv.methods.gemm_phases`) is the same
few kinds of work in different amounts, and the model adds them up::

    seconds ≈ Σ_products flops · (1 + h_M/M + h_K/K + h_N/N) / P      matrix products (M×K)·(K×N)
            + bytes / B                                                 copies, col2im, im2col
            + calls · c + products · c_p                                NumPy calls, BLAS calls (overhead each)

A matrix product runs near the peak ``P`` only when all three of its sides are long; ``h_M``,
``h_K``, ``h_N`` are the side lengths at which it runs at half speed (BLAS packs blocks of rows and
columns; a thin side wastes them). ``B`` is the memory bandwidth of the strided copies and
additions; ``c`` the cost of one NumPy call, ``c_p`` the further cost of one matrix product (BLAS's
set-up, which dominates a small product). The model is linear in ``(1/P, h_M/P, h_K/P, h_N/P,
1/B, c, c_p)``, so the constants are a non-negative least-squares fit to timed calls — see
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

ARRANGEMENTS = ("reshape", "channels_first", "channels_last", "separable", "phases")

#: ``(1/P, h_M/P, h_K/P, h_N/P, 1/B, c, c_p)`` in seconds per flop, per byte, per call and per product, fitted by
#: :mod:`tconv.bench.calibrate` (one thread, CPU time, on the grid of ``tconv bench --grid``); see
#: docs/performance.md for the run. Only their ratios matter to the choice.
COEFFICIENTS = (7.0e-12, 5.0e-11, 0.0, 1.3e-10, 7.2e-11, 8.7e-7, 1.9e-6)
#: Bytes of the column buffer per tile: as :data:`tconv.methods.gemm_numpy.WORKSPACE_BYTES`.
_BUDGET = 8 * 2**20
#: ``channels_first`` sums a tile's columns by one product with the whole 0/1 col2im matrix when
#: that product has at most ``TINY_MACS`` multiply-adds and the matrix at most ``TINY_MATRIX``
#: elements (:func:`tconv.methods.gemm_numpy._col2im_matrix`).
TINY_MACS = 1 << 21
TINY_MATRIX = 1 << 16


@dataclass(frozen=True)
class Features:
    """The work of one call in the model's terms: the linear features of :data:`COEFFICIENTS`."""

    flops: float
    flops_per_m: float
    flops_per_k: float
    flops_per_n: float
    bytes: float
    calls: float
    products: float

    def seconds(self, coefficients: tuple[float, ...] = COEFFICIENTS) -> float:
        """The predicted time."""
        return sum(c * f for c, f in zip(coefficients, self.vector()))

    def vector(self) -> tuple[float, ...]:
        return (
            self.flops,
            self.flops_per_m,
            self.flops_per_k,
            self.flops_per_n,
            self.bytes,
            self.calls,
            self.products,
        )


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
        prod, im, calls, products = (0.0, 0.0, 0.0, 0.0), 0.0, 0.0, 0.0
        for ph in plan.phases:
            q, t_r = math.prod(ph.size), len(ph.taps)
            fold = n > 1 and q < 256
            one = _product(1 if fold else n, cog, t_r * cig, n * q if fold else q)
            prod = tuple(a + b for a, b in zip(prod, one))  # type: ignore[assignment]
            im += t_r * cig * n * q
            tiles = _tiles(n, (t_r * cig + cog) * q * item)
            calls += 2 + tiles * (t_r + 3)  # the phase's weights gathered, then per tile im2col, product, copy
            products += tiles if fold else n
        calls += 3  # the weight's finiteness check, the padded input
        # the phase weights are a copy of the weight (read and written once per call)
        bytes_ = item * (2 * im + (4 if plan.zero_fill else 3) * y_el + 2 * x_el + 2 * w_el)
    elif arrangement == "separable":  # the GEMM, then per axis a product with its 0/1 matrix
        fold = n > 1 and p < 1024
        prod = _product(1 if fold else n, cog * taps, cig, n * p if fold else p)
        size, bytes_, calls, products = float(cols), item * 2.0 * cols, 3.0, (1 if fold else n) + g.ndim
        for i, o, k in zip(g.small, g.large, g.kernel):
            rows = size / (k * i)
            prod = tuple(u + v for u, v in zip(prod, _product(1, rows, k * i, o)))  # type: ignore[assignment]
            bytes_ += item * (2 * size + rows * o)  # the moved axes copied, the product written
            size, calls = rows * o, calls + 2
        bytes_ += item * 2 * y_el
    else:
        tiles = _tiles(n, cog * taps * p * item)
        fold = n > 1 and p < 1024
        products = tiles if fold or arrangement == "channels_last" else max(tiles, n)
        if arrangement == "channels_last":
            prod = _product(1, n * p, cig, cog * taps)
            bytes_ = item * (4 * cols + 6 * y_el + 2 * x_el + 2 * w_el)  # the weight blocks are copies
            calls = tiles * (taps + 4)
        else:
            prod = _product(1 if fold else n, cog * taps, cig, n * p if fold else p)
            if arrangement == "reshape":
                bytes_ = item * 3 * cols
                calls = tiles * (taps + 2)
            elif tiles == 1 and cols * o <= TINY_MACS and taps * p * o <= TINY_MATRIX:
                # channels_first, tiny: col2im is one product with the 0/1 col2im matrix
                col2im = _product(1, n * cog, taps * p, o)
                prod = tuple(u + v for u, v in zip(prod, col2im))  # type: ignore[assignment]
                bytes_ = item * (3 * cols + 2 * y_el)
                calls, products = 5, products + 1
            else:  # channels_first: GEMM writes cols; each tap adds into its phase buffer; phases copied out
                phases = math.prod(min(s, k) for s, k in zip(g.stride, g.kernel))
                bytes_ = item * (4 * cols + 3 * y_el)
                calls = tiles * (taps + 2 * phases + 2)
    f, f_m, f_k, f_n = (groups * v for v in prod)
    return Features(f, f_m, f_k, f_n, groups * bytes_, groups * calls + 10, groups * products)


def possible(g, item: int = 4) -> tuple[str, ...]:
    """The arrangements that apply to ``g``: ``reshape`` only where ``k == s`` and nothing overlaps,
    ``separable`` only where the whole column buffer is one tile (a small call)."""
    reshape = all(
        k == s and (d == 1 or k == 1) and b == 0 for k, s, d, b in zip(g.kernel, g.stride, g.dilation, g.begin)
    ) and g.large == tuple(i * s for i, s in zip(g.small, g.stride))
    one_tile = (g.batch or 1) * g.large_channels * g.taps * math.prod(g.small) * item <= _BUDGET
    return tuple(a for a in ARRANGEMENTS if (a != "reshape" or reshape) and (a != "separable" or one_tile))


@functools.lru_cache(maxsize=256)
def predict(g) -> dict[str, float]:
    """Predicted seconds of each arrangement that applies to ``g``."""
    return {a: features(g, a).seconds() for a in possible(g)}
