"""The data: scikit-learn's 8×8 digits (shipped with scikit-learn, nothing downloaded), at 16×16.

The digits' pixels are integers 0..16. The study's images are ``(N, 1, 16, 16)`` float32 in
``[-1, 1]`` (DDPM's range), made by a bilinear ×2 resize — not nearest, whose 2×2 blocks would give
the real data a checkerboard energy of exactly 0 and hand the resize-conv up-sampler a head start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Digits", "downsample2_mean", "from_unit", "load_digits16", "to_unit", "upsample2_bilinear"]

#: The digits' largest pixel value.
DIGITS_MAX = 16.0


@dataclass(frozen=True)
class Digits:
    """All 1797 digits: ``images`` ``(N, 1, 16, 16)`` float32 in [-1, 1], ``images8`` ``(N, 8, 8)`` 0..16, ``labels``."""

    images: np.ndarray
    images8: np.ndarray
    labels: np.ndarray


def to_unit(x8: np.ndarray) -> np.ndarray:
    """Pixels 0..16 → [-1, 1]."""
    return x8 / (DIGITS_MAX / 2) - 1.0


def from_unit(x: np.ndarray) -> np.ndarray:
    """[-1, 1] → pixels 0..16 (clipped)."""
    return np.clip((x + 1.0) * (DIGITS_MAX / 2), 0.0, DIGITS_MAX)


def _up2_axis(x: np.ndarray, axis: int) -> np.ndarray:
    # Half-pixel bilinear ×2 (torch's align_corners=False), edges replicated:
    #   y[2i] = ¼·x[i−1] + ¾·x[i],   y[2i+1] = ¾·x[i] + ¼·x[i+1].
    x = np.moveaxis(x, axis, -1)
    padded = np.concatenate([x[..., :1], x, x[..., -1:]], axis=-1)
    even = 0.25 * padded[..., :-2] + 0.75 * x
    odd = 0.75 * x + 0.25 * padded[..., 2:]
    y = np.stack([even, odd], axis=-1).reshape(*x.shape[:-1], 2 * x.shape[-1])
    return np.moveaxis(y, -1, axis)


def upsample2_bilinear(x: np.ndarray) -> np.ndarray:
    """Bilinear ×2 over the last two axes (equal to ``torch.nn.functional.interpolate(..., "bilinear")``).

    >>> upsample2_bilinear(np.array([[0.0, 4.0]]).repeat(2, axis=0))[0]
    array([0., 1., 3., 4.])
    """
    return _up2_axis(_up2_axis(np.asarray(x, dtype=np.float64), -1), -2)


def downsample2_mean(x: np.ndarray) -> np.ndarray:
    """Mean over 2×2 blocks of the last two axes (``H``, ``W`` even): 16×16 → 8×8.

    >>> downsample2_mean(np.arange(16.0).reshape(4, 4))
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    x = np.asarray(x, dtype=np.float64)
    h, w = x.shape[-2:]
    return x.reshape(*x.shape[:-2], h // 2, 2, w // 2, 2).mean(axis=(-3, -1))


def load_digits16() -> Digits:
    """scikit-learn's digits, resized 8×8 → 16×16 (bilinear) and scaled to [-1, 1]."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images8 = bunch.images.astype(np.float64)
    images = to_unit(upsample2_bilinear(images8))[:, None].astype(np.float32)
    return Digits(images=images, images8=images8, labels=bunch.target.astype(np.int64))
