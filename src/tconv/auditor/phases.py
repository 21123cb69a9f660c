"""A transposed convolution's response to a constant input, phase by phase: the checkerboard in its weights.

Feed a transposed convolution an input of ones. In the interior of the full output, position ``f``
(per axis) is reached by the taps ``t`` with ``t·d ≡ f (mod s)``, so the output repeats with period
``s``: one value per *phase* ``φ = f mod s``. For output channel ``c`` (in group ``gi = c // (C_out/g)``)
that value is

    R[c, φ] = Σ_{i in group gi} Σ_{t: (t_a·d_a) mod s_a = φ_a on every axis} W[i, c mod (C_out/g), t]

with ``W`` in PyTorch's layout ``(C_in, C_out/g, *k)`` and no bias. If the ``R[c, ·]`` differ, a flat
region comes out periodic — a checkerboard — whatever the overlap; equal tap *counts* per phase
(:func:`taps_per_phase`, a kernel divisible by the stride) only make equal *weights* flat. The
share of the response's energy that is off each channel's phase mean is
:func:`constant_response_imbalance`: 0 for a phase-balanced kernel, near 1 for a pure checkerboard.

A layer run on ones shows it (a 1-D layer, ``k = 4``, ``s = 2``: even overlap, uneven weights):

>>> import numpy as np, tconv
>>> w = np.array([[[1.0, 0.0, 1.0, 0.0]]])            # even taps: phase 0 sums to 2, phase 1 to 0
>>> tconv.conv_transpose(np.ones((1, 1, 5)), w, stride=2)[0, 0]
array([1., 0., 2., 0., 2., 0., 2., 0., 2., 0., 1., 0.])
>>> constant_response(w, stride=(2,)).tolist(), constant_response_imbalance(w, stride=(2,))
([[2.0, 0.0]], 0.5)

NumPy only: these work on any weight array; :mod:`tconv.auditor.torch_model` and
:mod:`tconv.auditor.onnx_model` read the weights from a model.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from tconv import geometry
from tconv.errors import TConvError
from tconv.taps import axis_taps

__all__ = [
    "taps_per_phase",
    "phase_of_taps",
    "constant_response",
    "constant_response_imbalance",
    "subpixel_response",
    "subpixel_imbalance",
    "imbalance_of",
    "balanced_target",
    "phase_counts",
    "phases",
]


def taps_per_phase(
    kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int] | None = None
) -> tuple[tuple[int, ...], ...]:
    """Per axis, for each phase ``φ = 0 … s−1``, the number of taps ``t`` in ``0 … k−1`` with ``(t·d) mod s = φ``.

    >>> taps_per_phase((3, 4), (2, 2))
    ((2, 1), (2, 2))
    >>> taps_per_phase((2,), (2,), (2,))        # dilation 2, stride 2: odd phases get no tap
    ((2, 0),)
    """
    dilation = (1,) * len(kernel) if dilation is None else dilation
    return tuple(geometry.taps_per_phase(k, s, d) for k, s, d in zip(kernel, stride, dilation))


def phase_of_taps(kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int] | None = None) -> np.ndarray:
    """The flat (row-major) phase index of every tap, shape ``kernel``: ``φ_a = (t_a·d_a) mod s_a``.

    >>> phase_of_taps((3,), (2,)).tolist(), phase_of_taps((2, 2), (2, 2)).tolist()
    ([0, 1, 0], [[0, 1], [2, 3]])
    """
    dilation = (1,) * len(kernel) if dilation is None else dilation
    # the tap map of one input position, uncropped: every tap lands, on phase (t·d) mod s
    per_axis = [
        np.array([tap.phase for tap in axis_taps(1, geometry.effective_kernel(k, d), k, s, d, 0).taps], dtype=np.int64)
        for k, s, d in zip(kernel, stride, dilation)
    ]
    index = np.zeros(tuple(kernel), dtype=np.int64)
    for a, phases in enumerate(per_axis):
        shape = [1] * len(kernel)
        shape[a] = -1
        index = index * stride[a] + phases.reshape(shape)
    return index


def _check(weight: np.ndarray, stride: Sequence[int], groups: int) -> tuple[int, int]:
    n = len(stride)
    if weight.ndim != n + 2:
        raise TConvError(f"weight of shape {weight.shape} must be (C_in, C_out/groups, *kernel) with {n} kernel axes")
    if groups < 1 or weight.shape[0] % groups:
        raise TConvError(f"groups={groups} must divide the weight's input channels {weight.shape[0]}")
    if any(s < 1 for s in stride):
        raise TConvError(f"stride={tuple(stride)} must be positive")
    return weight.shape[0] // groups, weight.shape[1]


def constant_response(
    weight, stride: Sequence[int], dilation: Sequence[int] | None = None, groups: int = 1
) -> np.ndarray:
    """``R[c, φ]``, shape ``(C_out, *stride)``: the interior response to ones, one period, without bias.

    ``weight`` is ``(C_in, C_out/groups, *k)`` (PyTorch's and ONNX's ``ConvTranspose`` layout); the
    result's ``[c, φ_1, …, φ_n]`` is output channel ``c``'s value on phase ``φ``.

    Raises
    ------
    TConvError
        ``groups`` not dividing the input channels, or a weight of the wrong rank.

    >>> w = np.ones((4, 1, 3))                      # groups=2: 2 input channels per output channel
    >>> constant_response(w, (2,), groups=2).tolist()
    [[4.0, 2.0], [4.0, 2.0]]
    """
    w = np.asarray(weight, dtype=np.float64)
    stride = tuple(int(s) for s in stride)
    per_group_in, per_group_out = _check(w, stride, groups)
    kernel = w.shape[2:]
    summed = w.reshape(groups, per_group_in, per_group_out, -1).sum(axis=1)  # (g, C_out/g, taps)
    summed = summed.reshape(groups * per_group_out, -1)
    phases = math.prod(stride)
    onehot = np.zeros((summed.shape[1], phases))
    onehot[np.arange(summed.shape[1]), phase_of_taps(kernel, stride, dilation).ravel()] = 1.0
    return (summed @ onehot).reshape(summed.shape[0], *stride)


def subpixel_response(conv_weight, scale: Sequence[int], mode: str = "CRD") -> np.ndarray:
    """``R[c, φ]`` of a convolution followed by a pixel shuffle (sub-pixel convolution), shape ``(C, *scale)``.

    ``conv_weight`` is the convolution's ``(C·Π scale, C_in/groups, *k)``; on ones, its output channel
    ``j`` is the sum of ``conv_weight[j]``, and the shuffle puts channel ``j`` on phase ``φ`` of
    channel ``c``: ``j = c·Π s + φ`` (``"CRD"``, PyTorch's ``pixel_shuffle``) or ``j = φ·C + c``
    (``"DCR"``, ONNX ``DepthToSpace``'s default).

    >>> w = np.repeat(np.arange(2.0).reshape(2, 1, 1), 4, axis=0)    # ICNR: each phase a copy
    >>> subpixel_response(w, (2, 2)).tolist()
    [[[0.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]]
    """
    w = np.asarray(conv_weight, dtype=np.float64)
    scale = tuple(int(s) for s in scale)
    phases = math.prod(scale)
    if w.shape[0] % phases:
        raise TConvError(f"the convolution's {w.shape[0]} output channels must be a multiple of {phases} = Π scale")
    sums = w.reshape(w.shape[0], -1).sum(axis=1)
    channels = w.shape[0] // phases
    if mode.upper() == "CRD":
        r = sums.reshape(channels, phases)
    elif mode.upper() == "DCR":
        r = sums.reshape(phases, channels).T
    else:
        raise TConvError(f"mode={mode!r} must be 'CRD' or 'DCR'")
    return r.reshape(channels, *scale)


#: A response whose energy is below this share of the same sums over ``|W|`` is rounding: no response.
ROUNDING = 1e-20


def imbalance_of(response: np.ndarray, scale: float = 0.0) -> float:
    """``Σ_c Σ_φ (R[c,φ] − mean_φ R[c,·])² / Σ_c Σ_φ R[c,φ]²`` for ``R`` of shape ``(C, *phases)``; 0 if all R are 0.

    ``scale`` is the energy of the same sums over ``|W|``; a response below ``ROUNDING·scale`` is
    taken as none (its phases then differ only by rounding, and the ratio would be noise).

    >>> imbalance_of(np.array([[1.0, -1.0]])), imbalance_of(np.array([[3.0, 3.0]])), imbalance_of(np.zeros((1, 2)))
    (1.0, 0.0, 0.0)
    """
    r = np.asarray(response, dtype=np.float64).reshape(response.shape[0], -1)
    total = float((r**2).sum())
    if total == 0.0 or total <= ROUNDING * scale:
        return 0.0
    off = float(((r - r.mean(axis=1, keepdims=True)) ** 2).sum())
    return min(max(off / total, 0.0), 1.0)


def constant_response_imbalance(
    weight, stride: Sequence[int], dilation: Sequence[int] | None = None, groups: int = 1
) -> float:
    """The share of the constant response's energy off its phase mean: ``imbalance_of(constant_response(...))``.

    Parameters
    ----------
    weight : array_like
        ``(C_in, C_out/groups, *kernel)``, PyTorch's and ONNX's ``ConvTranspose`` layout.
    stride, dilation : sequence of int
        Per spatial axis (``dilation`` defaults to 1).
    groups : int

    Returns
    -------
    float
        ``Σ_c Σ_φ (R[c,φ] − mean_φ R[c,·])² / Σ_c Σ_φ R[c,φ]²``, in ``[0, 1]``.

    0 for a phase-balanced kernel — a bilinear kernel times channel weights — and near 1 for a pure
    checkerboard. Checked against a layer run on ones (2-D, ``k = 3``, ``s = 2``, two groups):

    >>> import tconv
    >>> rng = np.random.default_rng(0)
    >>> w = rng.standard_normal((4, 3, 3, 3))                      # C_in 4, C_out 6, groups 2
    >>> y = tconv.conv_transpose(np.ones((1, 4, 8, 8)), w, stride=2, groups=2)[0]
    >>> period = y[:, 4:6, 4:6]                                     # one interior period, phases (0|1, 0|1)
    >>> bool(np.allclose(period, constant_response(w, (2, 2), groups=2)))
    True
    >>> off = ((period - period.mean(axis=(1, 2), keepdims=True)) ** 2).sum() / (period**2).sum()
    >>> bool(np.isclose(off, constant_response_imbalance(w, (2, 2), groups=2)))
    True
    >>> bilinear = np.outer([0.5, 1, 0.5], [0.5, 1, 0.5])          # k = 3, s = 2: phase-balanced
    >>> round(constant_response_imbalance(rng.standard_normal((4, 6, 1, 1)) * bilinear, (2, 2)), 12)
    0.0
    """
    w = np.asarray(weight, dtype=np.float64)
    scale = float((constant_response(np.abs(w), stride, dilation, groups) ** 2).sum())
    return imbalance_of(constant_response(w, stride, dilation, groups), scale)


def subpixel_imbalance(conv_weight, scale: Sequence[int], mode: str = "CRD") -> float:
    """:func:`imbalance_of` the :func:`subpixel_response` of a convolution followed by a pixel shuffle.

    >>> subpixel_imbalance(np.repeat(np.arange(1.0, 3.0).reshape(2, 1, 1), 4, axis=0), (2, 2))   # ICNR
    0.0
    """
    w = np.asarray(conv_weight, dtype=np.float64)
    energy = float((subpixel_response(np.abs(w), scale, mode) ** 2).sum())
    return imbalance_of(subpixel_response(w, scale, mode), energy)


def balanced_target(response: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per channel, the common phase sum ``m`` nearest to ``R`` when each phase's taps move together.

    Moving the ``n_φ`` taps of phase ``φ`` by ``δ`` each changes ``R[c, φ]`` by ``n_φ·δ``; the smallest
    change (in the sum of squared weight changes) that makes every phase equal to ``m`` has
    ``m = Σ_φ R[c,φ]/n_φ / Σ_φ 1/n_φ``. A phase no tap reaches (``n_φ = 0``) stays 0, so then ``m = 0``.

    >>> balanced_target(np.array([[4.0, 1.0]]), np.array([2, 1])).tolist()   # (2 + 1)/(1/2 + 1) = 2
    [2.0]
    """
    r = np.asarray(response, dtype=np.float64).reshape(response.shape[0], -1)
    n = np.asarray(counts, dtype=np.float64).ravel()
    if (n == 0).any():
        return np.zeros(r.shape[0])
    return (r / n).sum(axis=1) / (1.0 / n).sum()


def phase_counts(kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int] | None = None) -> np.ndarray:
    """Taps per phase over all axes, shape ``stride``: the outer product of :func:`taps_per_phase`.

    >>> phase_counts((3, 3), (2, 2)).tolist()
    [[4, 2], [2, 1]]
    """
    counts = np.ones((), dtype=np.int64)
    for axis in taps_per_phase(kernel, stride, dilation):
        counts = np.multiply.outer(counts, np.array(axis, dtype=np.int64))
    return counts


def phases(stride: Sequence[int]) -> list[tuple[int, ...]]:
    """Every phase ``φ`` in row-major order (the flat index order of :func:`phase_of_taps`).

    >>> phases((2, 2))
    [(0, 0), (0, 1), (1, 0), (1, 1)]
    """
    return list(itertools.product(*(range(s) for s in stride)))
