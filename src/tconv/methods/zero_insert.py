"""Method 2, ``zero_insert``: insert zeros, pad, and run an ordinary convolution.

The learner's "up-convolution" (Dumoulin & Visin's fractionally strided convolution). Stretch the
input by putting ``s − 1`` zeros between neighbours, ``z[i·s] = x[i]``; then

    full[f] = Σ_t x[i] w[t] over f = i·s + t·d  =  Σ_t z[f − t·d] · w[t]
            = Σ_u z[f − (k−1)·d + u·d] · w[k−1−u]            (u = k−1−t)

which is a stride-1 correlation of ``z`` — padded by ``k_eff − 1`` zeros on each side — with the
kernel **flipped** on every spatial axis, its channel axes swapped. Cropping ``b`` at the start
means starting the correlation ``b`` positions later: start = ``b − (k_eff − 1)`` in ``z``.
About ``1 − 1/s^d`` of its multiplications are by inserted zeros — which is also why an ``inf`` in
the *weight* gives NaN here (``0·∞``) where the definition has no term at all; NaN and inf in the
input pass through as in every method.
"""

from __future__ import annotations

from array_api_compat import array_namespace

from tconv.arrays import device_of, set_at, weight_as_conv
from tconv.methods.correlate import correlate

__all__ = ["zero_insert"]


def zero_insert(x, weight, geometry):
    """Transposed convolution as zero insertion + a convolution with the flipped, swapped kernel.

    >>> import numpy as np
    >>> from tconv.arguments import transpose_geometry
    >>> x = np.array([[[1, 2]]]); w = np.array([[[1, 10, 100]]])
    >>> zero_insert(x, w, transpose_geometry(x.shape, w.shape, stride=2))
    array([[[  1,  10, 102,  20, 200]]])
    """
    xp = array_namespace(x, weight)
    g = geometry
    stretched = tuple((i - 1) * s + 1 for i, s in zip(g.small, g.stride))
    z = xp.zeros((*x.shape[:2], *stretched), dtype=x.dtype, device=device_of(x))
    z = set_at(z, (..., *(slice(None, None, s) for s in g.stride)), x)
    start = tuple(b - (ke - 1) for b, ke in zip(g.begin, g.effective_kernel))
    return correlate(
        z,
        weight_as_conv(weight, g.groups, flip=True),
        stride=(1,) * g.ndim,
        dilation=g.dilation,
        groups=g.groups,
        start=start,
        size=g.large,
    )
