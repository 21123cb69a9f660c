"""The ``separable`` arrangement of the NumPy fast path: col2im as one small product per axis.

col2im is separable. On each axis independently, tap ``t_a`` sends input ``i_a`` to output
``o_a = i_a·s_a + t_a·d_a − b_a`` (kept when it lies in ``[0, O_a)``); with the 0/1 matrix of that
axis, ``M_a[(t_a, i_a), o_a] = 1`` for every such pair, the whole col2im is

    y[n, c, o₁, o₂, …] = Σ_{t, i} cols[n, c, t₁, t₂, …, i₁, i₂, …] · M₁[(t₁, i₁), o₁] · M₂[(t₂, i₂), o₂] · …

— contracted one axis at a time, each step one matrix product ``(rows × k_a·I_a) @ (k_a·I_a × O_a)``.
That is ``2·ndim + 3`` NumPy calls in all (the GEMM, a finiteness check, per axis a copy that moves
the axis pair last and a product, the copy out), where the slice additions take ``Πk`` calls and
more: on a small call the calls are the cost (measured: (1, 16, 8, 8) → 16, k4 s2: 50 against
70 µs for ``channels_first``). The products also multiply by the zeros of ``M_a`` — ``O_a/k_a``
times the additions' arithmetic — so it is offered only where the whole column buffer is one tile
(:func:`tconv.methods.choice.candidates`), and taken where measuring finds it fastest (tiny calls). Columns holding an
``inf`` or ``nan`` are summed by the slice additions instead (``0·inf`` would be ``nan``).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from tconv.taps import axis_taps

__all__ = ["axis_matrix", "col2im_matrix", "separable", "TINY_MACS", "TINY_MATRIX"]

#: ``channels_first`` sums a tile's columns by one product with the whole 0/1 col2im matrix
#: (:func:`col2im_matrix`) when that product has at most ``TINY_MACS`` multiply-adds and the matrix
#: at most ``TINY_MATRIX`` elements.
TINY_MACS = 1 << 21
TINY_MATRIX = 1 << 16


@functools.lru_cache(maxsize=256)
def axis_matrix(i_size: int, o_size: int, k: int, s: int, d: int, b: int, dtype: str) -> np.ndarray:
    """The 0/1 matrix ``M`` ``(k·I × O)`` of one axis: ``M[(t, i), o] = 1`` where ``o = i·s + t·d − b``
    lies in ``[0, O)`` (the crop) — for each tap of the tap map (:mod:`tconv.taps`), its inputs
    ``[lo, hi)`` against every ``s``-th output from its first.

    >>> axis_matrix(2, 3, 2, 2, 1, 0, "<i8")   # rows (t, i): o = 2·i + t, cropped to [0, 3)
    array([[1, 0, 0],
           [0, 0, 1],
           [0, 1, 0],
           [0, 0, 0]])
    """
    m = np.zeros((k, i_size, o_size), dtype=np.dtype(dtype))
    ax = axis_taps(i_size, o_size, k, s, d, b)
    for tap in ax.taps:
        i = np.arange(tap.lo, tap.hi)
        m[tap.t, i, (i + tap.shift) * s + tap.phase] = 1
    m.flags.writeable = False
    return m.reshape(k * i_size, o_size)


@functools.lru_cache(maxsize=64)
def col2im_matrix(g, dtype: str) -> np.ndarray | None:
    """The whole 0/1 col2im matrix ``M`` ``(Πk·Πi × Πo)``, ``y = cols @ M``, for tiny geometries (else
    None): the tensor product of the axes' matrices, ``M[(t, i), o] = Π_a M_a[(t_a, i_a), o_a]``.

    ``channels_first`` sums a tiny call's columns with it — one product instead of ``Πk`` slice
    additions (measured: (1, 64, 4, 4) → 64, k4 s2: 61 against 121 µs) — when the columns are
    finite (``0·inf`` would be ``nan`` where the slice additions give ``inf``).

    >>> from tconv.arguments import transpose_geometry
    >>> col2im_matrix(transpose_geometry((1, 1, 2), (1, 1, 2), stride=2), "<f8")   # rows (t, i)
    array([[1., 0., 0., 0.],
           [0., 0., 1., 0.],
           [0., 1., 0., 0.],
           [0., 0., 0., 1.]])
    """
    if g.taps * math.prod(g.small) * math.prod(g.large) > TINY_MATRIX:
        return None
    full = np.ones((), dtype=np.dtype(dtype))
    for i_size, o_size, k, s, d, b in zip(g.small, g.large, g.kernel, g.stride, g.dilation, g.begin):
        full = np.multiply.outer(full, axis_matrix(i_size, o_size, k, s, d, b, dtype).reshape(k, i_size, o_size))
    nd = g.ndim  # full: (k₁, I₁, O₁, k₂, I₂, O₂, …) → (k₁, k₂, …, I₁, I₂, …, O₁, O₂, …)
    order = [3 * a for a in range(nd)] + [3 * a + 1 for a in range(nd)] + [3 * a + 2 for a in range(nd)]
    matrix = np.ascontiguousarray(full.transpose(order)).reshape(-1, math.prod(g.large))
    matrix.flags.writeable = False
    return matrix


def separable(x, w, out, g, non_finite) -> None:
    """``x`` ``(N, C_in, Πi)``, ``w`` ``(C_in, C·Πk)`` (rows ``(c, t)``) → ``out`` ``(N, C, *O)``, for
    one group; ``non_finite(cols)`` sums columns ``(N, C, Πk, *I)`` holding an inf or nan instead.

    Step ``a`` moves the axes ``(k_a, I_a)`` last and multiplies by ``M_a`` ``(k_a·I_a × O_a)``;
    the new axis ``O_a`` is appended, so after the last step the array is ``(N·C, O₁, …)``.

    >>> from tconv.arguments import transpose_geometry
    >>> x = np.array([[[1., 2.]]]); w = np.array([[1., 10., 100.]])
    >>> out = np.empty((1, 1, 5)); separable(x, w, out, transpose_geometry((1, 1, 2), (1, 1, 3), stride=2), None)
    >>> out
    array([[[  1.,  10., 102.,  20., 200.]]])
    """
    n, cig, p = x.shape
    cog, nd = out.shape[1], g.ndim
    if n > 1 and p < 1024:  # fold the batch into the product's columns, as channels_first does
        cols = np.moveaxis((w.T @ x.transpose(1, 0, 2).reshape(cig, n * p)).reshape(cog * g.taps, n, p), 1, 0)
    else:
        cols = w.T @ x  # (N, C·Πk, Πi)
    if cols.dtype.kind == "f" and not np.isfinite(cols).all():  # 0·inf: add the slices instead
        non_finite(np.ascontiguousarray(cols).reshape(n, cog, g.taps, *g.small))
        return
    a = cols.reshape(n * cog, *g.kernel, *g.small)
    dtype = a.dtype.str
    for axis, (i_size, o_size, k, s, d, b) in enumerate(zip(g.small, g.large, g.kernel, g.stride, g.dilation, g.begin)):
        a = np.moveaxis(a, (1, 1 + nd - axis), (-2, -1))
        rest = a.shape[:-2]
        a = (a.reshape(-1, k * i_size) @ axis_matrix(i_size, o_size, k, s, d, b, dtype)).reshape(*rest, o_size)
    out[...] = a.reshape(out.shape)
