"""The ordinary (forward) convolution, as deep learning means it: a cross-correlation.

One primitive, :func:`correlate`, serves ``tconv.conv`` and the two transposed-convolution methods
that reduce to an ordinary convolution (zero insertion and polyphase):

    y[n, g·C'+c, q] = Σ_{c'} Σ_t  w[g·C'+c, c', t] · x[n, g·C+c', start + q·s + t·d]

for ``q`` in ``[0, size)`` on every spatial axis, reading zeros outside ``x``. The explicit
``start`` (negative: left padding) lets callers pad or crop without building padded copies twice.
"""

from __future__ import annotations

import itertools
import math

from array_api_compat import array_namespace

from tconv.arrays import device_of, window
from tconv.geometry import effective_kernel, full_size

__all__ = ["correlate"]


def correlate(x, w, *, stride, dilation, groups, start, size):
    """Grouped N-d cross-correlation of batched ``x (N, C_in, *n)`` with ``w (C_out, C_in/G, *k)``.

    Loops over the ``Π k`` kernel taps; each tap is one batched matrix product of the weight slice
    ``w[..., t]`` (G, C_out/G, C_in/G) with the strided view of ``x`` that tap reads.

    >>> import numpy as np
    >>> x = np.arange(5.0).reshape(1, 1, 5)
    >>> correlate(x, np.ones((1, 1, 2)), stride=(1,), dilation=(1,), groups=1, start=(0,), size=(4,))
    array([[[1., 3., 5., 7.]]])
    """
    xp = array_namespace(x, w)
    n = x.shape[0]
    c_out, c_in_g, *kernel = w.shape
    # The span of x that is read: from `start` to the last tap of the last output position.
    span = tuple(full_size(q, s, effective_kernel(k, d)) for q, s, d, k in zip(size, stride, dilation, kernel))
    xw = window(x, start, span)
    xw = xp.reshape(xw, (n, groups, c_in_g, *span))
    wg = xp.reshape(w, (groups, c_out // groups, c_in_g, *kernel))
    out = xp.zeros((n, groups, c_out // groups, *size), dtype=x.dtype, device=device_of(x))
    flat = (n, groups, c_in_g, math.prod(size))  # not -1: ambiguous when N = 0
    for t in itertools.product(*(range(k) for k in kernel)):
        # Tap t reads x at t·d + q·s for q = 0 .. size−1.
        view = xw[
            (..., *(slice(ti * d, ti * d + (q - 1) * s + 1, s) for ti, d, q, s in zip(t, dilation, size, stride)))
        ]
        out += xp.reshape(wg[(..., *t)] @ xp.reshape(view, flat), out.shape)
    return xp.reshape(out, (n, c_out, *size))
