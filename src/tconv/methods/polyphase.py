"""Method 5, ``polyphase``: ``s^d`` output phases, each a stride-1 correlation with a sub-kernel.

The tap map (:mod:`tconv.taps`) says it per axis: tap ``t``, with ``t·d − b = q₀(t)·s + r``, feeds
only the outputs ``o = q·s + r`` of phase ``r``, from input ``i = q − q₀(t)``. The taps of phase
``r`` that reach the output are ``t_j = t₀ + j·s'`` (``s' = s/gcd(s, d)``, ``j < count``), with
shifts ``q₀(t_j) = q₀ + j·d'`` (``d' = d/gcd(s, d)``). So, writing ``w_r[j] = w[t₀ + j·s']``:

    y_r[q] = y[q·s + r] = Σ_j w_r[j] · x[q − q₀ − j·d']        (q in [0, Q_r), x = 0 outside [0, I))

a stride-1 transposed convolution with the sub-kernel — computed as a correlation with the flipped
sub-kernel (``j' = count − 1 − j``), as in zero insertion, but with no inserted zeros:
``y_r[q] = Σ_j' flip(w_r)[j'] · x[start + q + j'·d']`` with ``start = −q₀ − (count − 1)·d'``.
Interleaving the phases gives the output ("convolution followed by pixel shuffle"). Phases with
different numbers of taps are the uneven overlap behind checkerboard artifacts; a phase with none
stays zero. Like zero insertion, the correlations read zero padding at the borders, so an ``inf``
in the weight gives NaN there.
"""

from __future__ import annotations

import itertools
import math

from array_api_compat import array_namespace

from tconv.arrays import device_of, set_at, weight_as_conv
from tconv.geometry import effective_kernel
from tconv.methods.correlate import correlate
from tconv.taps import axis_taps, tap_map

__all__ = ["polyphase", "phase_taps"]


def phase_taps(k: int, s: int, d: int, r: int) -> tuple[int, int, int, int, int]:
    """``(t0, step, count, m0, d')`` of phase ``r`` of the *full* (uncropped) output on one axis, read
    from the tap map of one input position (every tap lands); ``count == 0`` when no tap reaches it.

    >>> phase_taps(k=3, s=2, d=1, r=0)   # taps 0 and 2 reach even outputs
    (0, 2, 2, 0, 1)
    >>> phase_taps(k=3, s=2, d=1, r=1)   # tap 1 alone reaches odd ones
    (1, 2, 1, 0, 1)
    """
    for p in axis_taps(1, effective_kernel(k, d), k, s, d, 0).phases:
        if p.phase == r:
            return (p.taps[0].t, p.step, len(p.taps), p.taps[0].shift, p.shift_step)
    return (0, s // math.gcd(s, d), 0, 0, d // math.gcd(s, d))


def polyphase(x, weight, geometry):
    """Transposed convolution as ``s^d`` zero-free stride-1 correlations, one per output phase.

    >>> import numpy as np
    >>> from tconv.arguments import transpose_geometry
    >>> x = np.array([[[1, 2]]]); w = np.array([[[1, 10, 100]]])
    >>> polyphase(x, w, transpose_geometry(x.shape, w.shape, stride=2))
    array([[[  1,  10, 102,  20, 200]]])
    """
    xp = array_namespace(x, weight)
    g = geometry
    out = xp.zeros((x.shape[0], g.large_channels, *g.large), dtype=x.dtype, device=device_of(x))
    axes = tap_map(g)
    for combo in itertools.product(*(ax.phases for ax in axes)):  # phases no tap feeds stay zero
        sub = weight[(..., *(slice(p.taps[0].t, p.taps[-1].t + 1, p.step) for p in combo))]
        start = tuple(-p.taps[0].shift - (len(p.taps) - 1) * p.shift_step for p in combo)
        y = correlate(
            x,
            weight_as_conv(sub, g.groups, flip=True),
            stride=(1,) * g.ndim,
            dilation=tuple(p.shift_step for p in combo),
            groups=g.groups,
            start=start,
            size=tuple(p.size for p in combo),
        )
        out = set_at(out, (..., *(slice(p.phase, None, ax.stride) for p, ax in zip(combo, axes))), y)
    return out
