"""Method 5, ``polyphase``: ``s^d`` output phases, each a stride-1 correlation with a sub-kernel.

Output positions of one residue ``r = f mod s`` (a *phase*) are reached only by the taps with
``t·d ≡ r (mod s)``. Per axis, with ``g = gcd(s, d)``, ``s' = s/g``, ``d' = d/g``: such taps exist
only when ``g`` divides ``r``; they are ``t₀, t₀ + s', t₀ + 2s', ...`` (``t₀`` the smallest), and
tap ``t`` links ``f = s·q + r`` to input ``i = q − m_t`` with ``m_t = (t·d − r)/s``, which grows by
``d'`` from one tap of the phase to the next. So, writing ``w_r[j] = w[t₀ + j·s']``:

    y_r[q] = full[s·q + r] = Σ_j w_r[j] · x[q − m₀ − j·d']

a stride-1 transposed convolution with the sub-kernel — computed as a correlation with the flipped
sub-kernel, as in zero insertion, but with no inserted zeros. Interleaving the phases gives the
output ("convolution followed by pixel shuffle"). Phases with different numbers of taps are the
uneven overlap behind checkerboard artifacts; a phase with none stays zero. Like zero insertion,
the correlations read zero padding at the borders, so an ``inf`` in the weight gives NaN there.
"""

from __future__ import annotations

import itertools
import math

from array_api_compat import array_namespace

from tconv.arrays import device_of, set_at, weight_as_conv
from tconv.methods.correlate import correlate

__all__ = ["polyphase", "phase_taps"]


def phase_taps(k: int, s: int, d: int, r: int):
    """``(t0, step, count, m0, d')`` of phase ``r`` on one axis; ``count == 0`` when no tap reaches it.

    >>> phase_taps(k=3, s=2, d=1, r=0)   # taps 0 and 2 reach even outputs
    (0, 2, 2, 0, 1)
    >>> phase_taps(k=3, s=2, d=1, r=1)   # tap 1 alone reaches odd ones
    (1, 2, 1, 0, 1)
    """
    g = math.gcd(s, d)
    step, d_sub = s // g, d // g
    t0 = next((t for t in range(min(k, step)) if (t * d) % s == r), None)
    if t0 is None:
        return (0, step, 0, 0, d_sub)
    count = (k - t0 + step - 1) // step
    return (t0, step, count, (t0 * d - r) // s, d_sub)


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
    for phase in itertools.product(*(range(s) for s in g.stride)):
        axes = [phase_taps(k, s, d, r) for k, s, d, r in zip(g.kernel, g.stride, g.dilation, phase)]
        if any(count == 0 for _, _, count, _, _ in axes):
            continue  # no tap reaches this phase: it stays zero
        # Output o = f − b; this phase holds o ≡ r − b (mod s), from o0, which is q0 = (o0 + b − r)/s.
        o0 = [(r - b) % s for r, b, s in zip(phase, g.begin, g.stride)]
        size = tuple(max(0, -(-(o - a) // s)) for o, a, s in zip(g.large, o0, g.stride))
        if 0 in size:
            continue
        q0 = [(a + b - r) // s for a, b, r, s in zip(o0, g.begin, phase, g.stride)]
        sub = weight[(..., *(slice(t0, None, step) for t0, step, _, _, _ in axes))]
        # y[q0 + u] = Σ_j w_r[j] x[q0 + u − m0 − j·d'] = Σ_j' flip(w_r)[j'] x[start + u + j'·d'],
        # with j' = count − 1 − j and start = q0 − m0 − (count − 1)·d'.
        start = tuple(q - m0 - (count - 1) * dd for q, (_, _, count, m0, dd) in zip(q0, axes))
        y = correlate(
            x,
            weight_as_conv(sub, g.groups, flip=True),
            stride=(1,) * g.ndim,
            dilation=tuple(dd for *_, dd in axes),
            groups=g.groups,
            start=start,
            size=size,
        )
        out = set_at(out, (..., *(slice(a, None, s) for a, s in zip(o0, g.stride))), y)
    return out
