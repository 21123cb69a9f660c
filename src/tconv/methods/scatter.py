"""Method 1, ``scatter``: the definition of the transposed convolution.

Every input element stamps a scaled copy of the kernel into the output, at its position times the
stride (taps spaced by the dilation), and the stamps are summed:

    full[n, co, i·s + t·d] += x[n, ci, i] · w[ci, co, t]      for every i, t (and ci in co's group)
    y = full[..., b : b + o]                                  (the crop; zeros past F)

This is the learner's "transposed convolution proper". It loops over input positions, so it is
the slowest method on large inputs, but every other method is checked against it.
"""

from __future__ import annotations

import itertools

from array_api_compat import array_namespace

from tconv.arrays import add_at, device_of, window

__all__ = ["scatter"]


def scatter(x, weight, geometry):
    """Transposed convolution by stamping ``x[i] · w`` at ``i·s`` for every input position ``i``.

    ``x`` is batched ``(N, C_in, *i)``, ``weight`` is ``(C_in, C_out/G, *k)``; returns
    ``(N, C_out, *o)`` without bias.

    >>> import numpy as np
    >>> from tconv.arguments import transpose_geometry
    >>> x = np.array([[[[2, 2], [0, 2]]]]); w = np.array([[[[1, 0], [0, 1]]]])
    >>> scatter(x, w, transpose_geometry(x.shape, w.shape))[0, 0]
    array([[2, 2, 0],
           [0, 4, 2],
           [0, 0, 2]])
    """
    xp = array_namespace(x, weight)
    g = geometry
    n, groups = x.shape[0], g.groups
    c_in_g, c_out_g = g.small_channels // groups, g.large_channels // groups
    xg = xp.reshape(x, (n, groups, c_in_g, *g.small))
    # (G, C_in/G, C_out/G · Πk): one stamp is a (N, C_in/G) @ (C_in/G, C_out/G·Πk) product per group.
    wg = xp.reshape(weight, (groups, c_in_g, c_out_g * g.taps))
    full = xp.zeros((n, groups, c_out_g, *g.full), dtype=x.dtype, device=device_of(x))
    for i in itertools.product(*(range(m) for m in g.small)):
        v = xp.permute_dims(xg[(..., *i)], (1, 0, 2))  # (G, N, C_in/G)
        stamp = xp.permute_dims(v @ wg, (1, 0, 2))  # (N, G, C_out/G · Πk)
        # The stamp covers i·s, i·s + d, ..., i·s + (k−1)·d on each axis.
        where = tuple(
            slice(ia * s, ia * s + ke, d) for ia, s, ke, d in zip(i, g.stride, g.effective_kernel, g.dilation)
        )
        full = add_at(full, (..., *where), xp.reshape(stamp, (n, groups, c_out_g, *g.kernel)))
    return xp.reshape(window(full, g.begin, g.large), (n, g.large_channels, *g.large))
