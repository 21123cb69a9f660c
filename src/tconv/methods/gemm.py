"""Method 4, ``gemm``: one matrix product into a column buffer, then col2im.

What PyTorch's fallback, onnxruntime and TensorFlow do. Group the definition by kernel tap:

    cols[n, t, co, i] = Σ_ci w[ci, co, t] · x[n, ci, i]      one product, (C_out·Πk × C_in) @ (C_in × Πi)
    full[n, co, t·d + i·s] += cols[n, t, co, i]              col2im: Πk strided-slice additions

so every multiplication is useful (none by an inserted zero) and the additions are whole strided
slices, never element by element. The crop ``[b, b + o)`` is taken at the end.

This is the readable version, run for every array library (torch tensors included). NumPy arrays
go to :mod:`tconv.methods.gemm_numpy`: the same product and col2im, arranged for speed (batch folded,
col2im into the cropped output, tiles, threads); the two are tested equal.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from array_api_compat import array_namespace

from tconv.arrays import add_at, device_of, window
from tconv.methods import gemm_numpy

__all__ = ["gemm", "readable"]


def gemm(x, weight, geometry, arrangement: str | None = None):
    """Transposed convolution as GEMM + col2im (``arrangement``: the NumPy fast path's, if given).

    >>> import numpy as np
    >>> from tconv.arguments import transpose_geometry
    >>> x = np.array([[[1, 2]]]); w = np.array([[[1, 10, 100]]])
    >>> gemm(x, w, transpose_geometry(x.shape, w.shape, stride=2))
    array([[[  1,  10, 102,  20, 200]]])
    """
    if type(x) is np.ndarray and type(weight) is np.ndarray and x.dtype == weight.dtype:
        return gemm_numpy.conv_transpose(x, weight, geometry, arrangement=arrangement)
    return readable(x, weight, geometry)


def readable(x, weight, geometry):
    """The array-API GEMM + col2im that :func:`gemm` runs for non-NumPy arrays (and tests compare)."""
    xp = array_namespace(x, weight)
    g = geometry
    n, groups = x.shape[0], g.groups
    c_in_g, c_out_g = g.small_channels // groups, g.large_channels // groups
    # Weight (G·C_in/G, C_out/G, *k) → (G, Πk·C_out/G, C_in/G): rows ordered (tap, out channel).
    w = xp.reshape(weight, (groups, c_in_g, c_out_g, g.taps))
    w = xp.reshape(xp.permute_dims(w, (0, 3, 2, 1)), (groups, g.taps * c_out_g, c_in_g))
    p = math.prod(g.small)
    if n > 1 and p < 1024:
        # Small images: one product with N·Πi columns rather than N thin ones of Πi columns each
        # (measured on torch tensors: WaveGAN's 16-sample inputs 1.8× faster, DCGAN's 4×4 1.1×; on
        # larger images folding only added a copy). The columns come back batch-second: a view puts
        # the batch in front again.
        xf = xp.reshape(xp.permute_dims(xp.reshape(x, (n, groups, c_in_g, p)), (1, 2, 0, 3)), (groups, c_in_g, n * p))
        cols = xp.reshape(w @ xf, (groups, g.taps, c_out_g, n, *g.small))
        cols = xp.permute_dims(cols, (3, 0, 1, 2, *range(4, 4 + g.ndim)))
    else:
        cols = xp.reshape(w @ xp.reshape(x, (n, groups, c_in_g, p)), (n, groups, g.taps, c_out_g, *g.small))
    # cols[n, G, t, co, *i] is the column buffer.
    full = xp.zeros((n, groups, c_out_g, *g.full), dtype=x.dtype, device=device_of(x))
    for j, t in enumerate(itertools.product(*(range(k) for k in g.kernel))):
        # Tap t of input position i lands at t·d + i·s: a strided slice of length i on each axis.
        where = tuple(
            slice(ta * d, ta * d + (m - 1) * s + 1, s) for ta, d, m, s in zip(t, g.dilation, g.small, g.stride)
        )
        full = add_at(full, (..., *where), cols[:, :, j, ...])
    return xp.reshape(window(full, g.begin, g.large), (n, g.large_channels, *g.large))
