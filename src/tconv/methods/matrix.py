"""Method 3, ``matrix``: the forward convolution as an explicit matrix ``C``; the output is ``Cᵀx``.

Where the name comes from. The convolution that reads the large side and writes the small side is

    conv(y)[ci, i] = Σ_co Σ_t w[ci, co, t] · y[co, i·s + t·d − b]

a linear map, so it is a matrix ``C`` with rows ``(ci, i)`` and columns ``(co, o)``. For one kernel
tap ``t`` the spatial part is a 0/1 *selection* matrix ``S_t[i, o] = [o = i·s + t·d − b]``, so

    C = Σ_t W_t ⊗ S_t,      W_t[ci, co] = w[ci, co, t]   (zero between different groups)

and the transposed convolution is ``Cᵀ x = Σ_t (W_tᵀ ⊗ S_tᵀ) x``. ``C`` is sparse: each column of
``S_t`` holds at most one 1, at ``i = (o + b − t·d)/s`` when that is a whole number in range. tconv
stores each ``S_t`` exactly that way — an index per output position and a validity mask — and
applies ``S_tᵀ`` by gathering, then ``W_tᵀ`` by a matrix product. :func:`conv_matrix` writes the
whole ``C`` out densely, for teaching and small sizes.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from array_api_compat import array_namespace

from tconv.arrays import check_memory, device_of
from tconv.errors import TConvError
from tconv.geometry import Geometry

__all__ = ["matrix", "selection", "conv_matrix"]


def selection(geometry):
    """The sparse selection matrices: ``[(t, index, valid)]``, one per tap ``t`` (row-major).

    ``S_t[index[o], o] = valid[o]`` over flattened spatial positions ``o`` of the large side and
    ``index`` into the small side, so ``(S_tᵀ x)[o] = valid[o] · x[index[o]]``.

    >>> from tconv.arguments import transpose_geometry
    >>> [(t, i.tolist(), v.tolist()) for t, i, v in selection(transpose_geometry((1, 1, 2), (1, 1, 2), stride=2))]
    [((0,), [0, 0, 1, 0], [True, False, True, False]), ((1,), [0, 0, 0, 1], [False, True, False, True])]
    """
    g = geometry
    per_axis: list[list[tuple[np.ndarray, np.ndarray]]] = []  # per axis, per tap: (i, valid) over the outputs
    for m, o_size, k, s, d, b in zip(g.small, g.large, g.kernel, g.stride, g.dilation, g.begin):
        f = np.arange(o_size) + b  # position in the full output
        taps = []
        for t in range(k):
            num = f - t * d  # = i·s when tap t of input i lands on f
            i = num // s
            valid = (num % s == 0) & (i >= 0) & (i < m)
            taps.append((np.where(valid, i, 0), valid))
        per_axis.append(taps)
    result = []
    for tap in itertools.product(*(range(k) for k in g.kernel)):
        grids = np.meshgrid(*[per_axis[a][ta][0] for a, ta in enumerate(tap)], indexing="ij")
        masks = np.meshgrid(*[per_axis[a][ta][1] for a, ta in enumerate(tap)], indexing="ij")
        index = np.ravel_multi_index(tuple(grids), g.small).ravel()
        valid = np.logical_and.reduce(masks).ravel()
        result.append((tap, index, valid))
    return result


def matrix(x, weight, geometry):
    """Transposed convolution as ``Cᵀx``, with ``C = Σ_t W_t ⊗ S_t`` stored sparsely.

    >>> import numpy as np
    >>> from tconv.arguments import transpose_geometry
    >>> x = np.array([[[1, 2]]]); w = np.array([[[1, 10, 100]]])
    >>> matrix(x, w, transpose_geometry(x.shape, w.shape, stride=2))
    array([[[  1,  10, 102,  20, 200]]])
    """
    xp = array_namespace(x, weight)
    g = geometry
    n, groups = x.shape[0], g.groups
    c_in_g, c_out_g = g.small_channels // groups, g.large_channels // groups
    xg = xp.reshape(x, (n, groups, c_in_g, -1))
    w = xp.reshape(weight, (groups, c_in_g, c_out_g, g.taps))
    dev = device_of(x)
    out = xp.zeros((n, groups, c_out_g, int(np.prod(g.large))), dtype=x.dtype, device=dev)
    zero = xp.zeros((), dtype=x.dtype, device=dev)
    for j, (_, index, valid) in enumerate(selection(g)):
        if not valid.any():
            continue
        gathered = xp.take(xg, xp.asarray(index, device=dev), axis=3)  # S_tᵀ x, before the mask
        product = xp.permute_dims(w[..., j], (0, 2, 1)) @ gathered  # W_tᵀ (per group)
        # Zero where S_t has no 1 — with where, after the product, not by multiplying: neither a
        # NaN read there nor an inf tap times a masked 0 (= NaN) may leak into a term that is absent.
        out += xp.where(xp.asarray(valid, device=dev), product, zero)  # rebinds for immutable arrays (JAX)
    return xp.reshape(out, (n, g.large_channels, *g.large))


def conv_matrix(geometry: Geometry, weight: Any, max_elements: int = 2**24) -> np.ndarray:
    """The dense matrix ``C`` of the forward convolution: rows ``(ci, i)``, columns ``(co, o)``.

    ``conv_transpose(x) = Cᵀ x`` and ``conv(y) = C y`` on flattened, unbatched arrays (NumPy only).

    Parameters
    ----------
    geometry
        A checked geometry (either direction; the map is the same).
    weight
        ``(C_small, C_large/groups, *k)``: the transposed convolution's weight.
    max_elements
        Refuse a matrix of more entries than this (it is dense, for reading).

    Returns
    -------
    numpy.ndarray
        ``C``, of shape ``(C_small·Πi, C_large·Πo)``.

    Raises
    ------
    TConvError
        ``C`` would have more than ``max_elements`` entries, or not fit in memory.

    >>> import numpy as np
    >>> from tconv.arguments import transpose_geometry
    >>> conv_matrix(transpose_geometry((1, 2), (1, 1, 3), stride=2), np.array([[[1, 10, 100]]]))
    array([[  1,  10, 100,   0,   0],
           [  0,   0,   1,  10, 100]])
    """
    g = geometry
    weight = np.asarray(weight)
    rows, cols = g.small_channels * int(np.prod(g.small)), g.large_channels * int(np.prod(g.large))
    if rows * cols > max_elements:
        raise TConvError(
            f"conv_matrix: C would have {rows} x {cols} = {rows * cols:,} entries, more than max_elements={max_elements:,}"
        )
    check_memory("conv_matrix", rows * cols, weight.dtype.itemsize)
    groups, c_in_g, c_out_g = g.groups, g.small_channels // g.groups, g.large_channels // g.groups
    w = weight.reshape(groups, c_in_g, c_out_g, g.taps)
    c = np.zeros((rows, cols), dtype=weight.dtype)
    small, large = int(np.prod(g.small)), int(np.prod(g.large))
    for j, (_, index, valid) in enumerate(selection(g)):
        s_t = np.zeros((small, large), dtype=weight.dtype)
        s_t[index[valid], np.flatnonzero(valid)] = 1
        w_t = np.zeros((g.small_channels, g.large_channels), dtype=weight.dtype)
        for grp in range(groups):  # block diagonal over groups
            w_t[grp * c_in_g : (grp + 1) * c_in_g, grp * c_out_g : (grp + 1) * c_out_g] = w[grp, :, :, j]
        c += np.kron(w_t, s_t)
    return c
