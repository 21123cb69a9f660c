"""Checkerboard energy: the share of an image's spectral energy on the Nyquist lines. NumPy only.

A checkerboard artifact is a pattern that flips sign from one pixel to the next — along rows,
columns or both. In the 2-D DFT such a pattern lives at frequency ``H/2`` (rows) or ``W/2``
(columns): the *Nyquist lines*. Measuring the share of the (mean-removed) energy found there gives
one number per batch: 1 for a pure checkerboard, 0 for any image made by nearest ×2 up-sampling
(each 2×2 block is constant, so the ±1 pattern cancels inside every block), and about
``(H + W − 1) / (H·W − 1)`` for white noise, whose energy is spread evenly over the ``H·W − 1``
non-constant frequencies, ``H + W − 1`` of which lie on the two lines.
"""

from __future__ import annotations

import numpy as np

from ..errors import TConvError

__all__ = ["checkerboard_energy", "white_noise_checkerboard_energy"]

#: A batch whose mean-removed values are all below this fraction of its largest value is constant.
_CONSTANT_RTOL = 1e-12


def checkerboard_energy(images) -> float:
    r"""Share of the images' spectral energy on the Nyquist lines (row frequency H/2 or column W/2).

    Each image ``x`` (the last two axes, ``H × W``, both even) has its mean removed, then

    .. math::

        X[u, v] = \sum_{h, w} x[h, w]\, e^{-2\pi i (uh/H + vw/W)}, \qquad
        E = \frac{\sum_{\text{batch}} \sum_{u = H/2 \ \vee\ v = W/2} |X[u, v]|^2}
                 {\sum_{\text{batch}} \sum_{u, v} |X[u, v]|^2}

    where the batch is every leading axis (energy is summed over the batch before the ratio, so
    images with more contrast weigh more).

    Parameters
    ----------
    images : array_like
        Shape ``(..., H, W)`` with ``H`` and ``W`` even; any leading axes are the batch. A torch
        tensor on the CPU works (``np.asarray`` is applied).

    Returns
    -------
    float
        ``E`` in ``[0, 1]``. A batch of constant images (no energy once the mean is removed) has no
        checkerboard either, and gives ``0.0`` rather than an error: a model that collapses to blank
        samples must not crash a study.

    Raises
    ------
    TConvError
        Fewer than two dimensions, an odd ``H`` or ``W`` (no Nyquist frequency), or non-finite values.

    Examples
    --------
    >>> import numpy as np
    >>> h, w = np.indices((4, 6))
    >>> checkerboard_energy((-1.0) ** (h + w))                        # a pure checkerboard
    1.0
    >>> x = np.random.default_rng(0).normal(size=(3, 2, 2))
    >>> checkerboard_energy(x.repeat(2, axis=-2).repeat(2, axis=-1))  # nearest ×2: none
    0.0
    >>> checkerboard_energy(np.ones((2, 8, 8)))                       # constant: 0.0 by convention
    0.0
    """
    x = np.asarray(images, dtype=np.float64)
    if x.ndim < 2:
        raise TConvError(f"images must have at least 2 dimensions (..., H, W); got shape {x.shape}")
    height, width = x.shape[-2:]
    if height % 2 or width % 2:
        raise TConvError(
            f"images: H and W (the last two axes) must both be even, so that the Nyquist frequencies "
            f"H/2 and W/2 exist; got H={height}, W={width} (shape {x.shape})"
        )
    if x.size == 0:
        raise TConvError(f"images must not be empty; got shape {x.shape}")
    if not np.isfinite(x).all():
        raise TConvError("images must be finite; got NaN or infinity")
    centred = x - x.mean(axis=(-2, -1), keepdims=True)
    if np.abs(centred).max() <= _CONSTANT_RTOL * np.abs(x).max():  # also true for all zeros
        return 0.0
    # |X[u, v]|², summed over every leading (batch) axis: one H × W power spectrum.
    power = (np.abs(np.fft.fft2(centred)) ** 2).reshape(-1, height, width).sum(axis=0)
    # The row u = H/2 plus the column v = W/2, their crossing counted once.
    nyquist = power[height // 2, :].sum() + power[:, width // 2].sum() - power[height // 2, width // 2]
    return float(min(1.0, nyquist / power.sum()))


def white_noise_checkerboard_energy(height: int, width: int) -> float:
    """``(H + W − 1) / (H·W − 1)``: white noise's expected :func:`checkerboard_energy` (ratio of expectations).

    >>> round(white_noise_checkerboard_energy(16, 16), 4)
    0.1216
    """
    return (height + width - 1) / (height * width - 1)
