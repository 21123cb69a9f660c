"""The constant-response imbalance, as the issue defines it, held against layers run on constant inputs.

A transposed convolution fed ones answers, in the interior of its output, with one value per phase
``φ = f mod s`` and output channel: ``R[c, φ]``. These tests run real layers (torch.nn's, 1-D to 3-D,
with groups and dilation) on ones, read one interior period of the output, and require it to equal
:func:`constant_response` — and its share of energy off the phase mean to equal
:func:`constant_response_imbalance`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tconv
from tconv.auditor.phases import (
    balanced_target,
    constant_response,
    constant_response_imbalance,
    imbalance_of,
    phase_of_taps,
    subpixel_response,
    taps_per_phase,
)
from tconv.explainer.artifacts import overlap_counts

#: (C_in, C_out, kernel, stride, dilation, groups, padding): 1-D to 3-D, groups, dilation, k = s, k < s.
LAYERS = [
    (3, 4, (3,), (2,), (1,), 1, (1,)),
    (4, 6, (4,), (2,), (1,), 2, (1,)),
    (2, 2, (5,), (3,), (2,), 1, (2,)),
    (2, 3, (2,), (2,), (1,), 1, (0,)),
    (3, 2, (3, 3), (2, 2), (1, 1), 1, (1, 1)),
    (4, 4, (4, 3), (2, 3), (1, 2), 4, (1, 0)),
    (6, 4, (3, 4), (2, 2), (2, 1), 2, (0, 1)),
    (2, 3, (2, 2), (2, 2), (1, 1), 1, (0, 0)),
    (2, 2, (3, 3, 3), (2, 2, 2), (1, 1, 1), 1, (1, 1, 1)),
    (4, 2, (2, 3, 4), (2, 1, 2), (1, 1, 1), 2, (0, 1, 1)),
]


def _ids(case):
    c_in, c_out, k, s, d, g, _ = case
    return f"{len(k)}d-k{'x'.join(map(str, k))}-s{'x'.join(map(str, s))}-d{'x'.join(map(str, d))}-g{g}"


def _interior_period(y: np.ndarray, kernel, stride, dilation, padding) -> np.ndarray:
    """One period of the output's interior, phases in order: full positions f0 … f0 + s − 1, f0 ≡ 0 (mod s)."""
    index = []
    for k, s, d, p in zip(kernel, stride, dilation, padding):
        k_eff = d * (k - 1) + 1
        f0 = s * math.ceil((k_eff - 1) / s)  # every tap reaches f ≥ k_eff − 1; f0 is phase 0
        index.append(slice(f0 - p, f0 - p + s))
    return y[(slice(None), *index)]


@pytest.mark.parametrize("case", LAYERS, ids=_ids)
def test_the_imbalance_is_what_a_layer_run_on_ones_shows(case):
    torch = pytest.importorskip("torch")
    c_in, c_out, kernel, stride, dilation, groups, padding = case
    n = len(kernel)
    torch.manual_seed(sum(kernel) + 7 * groups)
    layer = getattr(torch.nn, f"ConvTranspose{n}d")(
        c_in, c_out, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=False
    ).double()
    size = [math.ceil((d * (k - 1) + 1) / s) + 3 for k, s, d in zip(kernel, stride, dilation)]
    with torch.no_grad():
        y = layer(torch.ones(1, c_in, *size, dtype=torch.float64))[0].numpy()
    period = _interior_period(y, kernel, stride, dilation, padding)
    w = layer.weight.detach().numpy()
    np.testing.assert_allclose(period, constant_response(w, stride, dilation, groups), atol=1e-12)
    flat = period.reshape(c_out, -1)
    measured = ((flat - flat.mean(axis=1, keepdims=True)) ** 2).sum() / (flat**2).sum()
    assert constant_response_imbalance(w, stride, dilation, groups) == pytest.approx(measured, abs=1e-12)


def test_randomly_initialised_layers_are_far_from_balanced():
    """torch.nn's default initialisation: a checkerboard in most of the response (the issue's 23–92 %)."""
    torch = pytest.importorskip("torch")
    found = []
    for case in LAYERS:
        c_in, c_out, kernel, stride, dilation, groups, _ = case
        if all(s == 1 for s in stride):
            continue
        torch.manual_seed(0)
        layer = getattr(torch.nn, f"ConvTranspose{len(kernel)}d")(
            c_in, c_out, kernel, stride=stride, dilation=dilation, groups=groups
        )
        found.append(constant_response_imbalance(layer.weight.detach().numpy(), stride, dilation, groups))
    assert min(found) > 0.1 and max(found) < 1.0


@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("k, s", [(3, 2), (4, 2), (6, 3)])
def test_a_bilinear_kernel_times_channel_weights_is_balanced(ndim, k, s, rng):
    """A box of s taps convolved with anything — the bilinear kernel is box ∗ box — sums alike on every phase."""
    tri = np.convolve(np.ones(s), np.ones(k - s + 1))  # k = 2s − 1: bilinear; k = 2s: its even-length kin
    kernel = tri
    for _ in range(ndim - 1):
        kernel = np.multiply.outer(kernel, tri)
    w = rng.standard_normal((3, 4, *(1,) * ndim)) * kernel
    assert constant_response_imbalance(w, (s,) * ndim) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    "weight, stride, expected",
    [
        (np.array([[[1.0, -1.0]]]), (2,), 1.0),  # a pure checkerboard: every phase off a zero mean
        (np.array([[[1.0, 1.0]]]), (2,), 0.0),  # even
        (np.zeros((1, 1, 3)), (2,), 0.0),  # no response at all: 0, not NaN
        (np.array([[[2.0, 0.0, 2.0]]]), (2,), 0.5),  # k = 3, s = 2 with equal taps: 4 | 0
        (np.array([[[1.0, 1.0, 1.0]]]), (2,), 0.1),  # 2 | 1: (0.25 + 0.25) / 5
    ],
)
def test_imbalance_extremes(weight, stride, expected):
    assert constant_response_imbalance(weight, stride) == pytest.approx(expected)


@pytest.mark.parametrize("k, s, d", [(k, s, d) for k in range(1, 7) for s in range(1, 5) for d in (1, 2, 3)])
def test_taps_per_phase_counts_what_lands_on_each_phase(k, s, d):
    (counts,) = taps_per_phase((k,), (s,), (d,))
    assert list(counts) == overlap_counts(k, s, d)
    assert list(counts) == [sum(1 for t in range(k) if t * d % s == phi) for phi in range(s)]
    assert sum(counts) == k


def test_taps_per_phase_of_the_issue_example():
    assert taps_per_phase((3, 3), (2, 2)) == ((2, 1), (2, 1))


def test_phase_of_taps_is_row_major():
    assert phase_of_taps((3, 2), (2, 2)).tolist() == [[0, 1], [2, 3], [0, 1]]


@pytest.mark.parametrize("mode", ["CRD", "DCR"])
def test_subpixel_response_matches_a_shuffle_run_on_ones(mode, rng):
    torch = pytest.importorskip("torch")
    channels, s = 3, 2
    w = rng.standard_normal((channels * s * s, 2, 3, 3))
    conv = torch.nn.functional.conv2d(torch.ones(1, 2, 6, 6, dtype=torch.float64), torch.from_numpy(w), padding=1)
    if mode == "CRD":
        y = torch.nn.functional.pixel_shuffle(conv, s)[0].numpy()
    else:  # ONNX DepthToSpace DCR: channel φ·C + c
        n, _, h, width = conv.shape
        y = conv.reshape(n, s, s, channels, h, width).permute(0, 3, 4, 1, 5, 2).reshape(n, channels, h * s, width * s)
        y = y[0].numpy()
    period = y[:, 4:6, 4:6]  # interior: the 3×3 convolution sees no border there
    np.testing.assert_allclose(period, subpixel_response(w, (s, s), mode), atol=1e-12)


def test_balanced_target_is_the_nearest_common_sum():
    r, n = np.array([[4.0, 1.0, 3.0]]), np.array([2, 1, 3])
    m = balanced_target(r, n)[0]

    def moves(target):  # the sum of squared weight changes: n_φ taps each moved by (target − R)/n_φ
        return (((target - r[0]) / n) ** 2 * n).sum()

    assert all(moves(m) <= moves(m + e) for e in (-0.1, 0.01, 0.1))
    assert balanced_target(r, np.array([2, 0, 3]))[0] == 0.0  # a phase without taps stays 0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: constant_response(np.ones((3, 1, 2)), (2,), groups=2), "groups=2 must divide"),
        (lambda: constant_response(np.ones((1, 1, 2)), (2, 2)), "2 kernel axes"),
        (lambda: subpixel_response(np.ones((3, 1, 1)), (2,)), "multiple of 2"),
        (lambda: subpixel_response(np.ones((4, 1, 1)), (2,), mode="XYZ"), "mode='XYZ'"),
    ],
)
def test_bad_weights_name_the_rule(call, message):
    with pytest.raises(tconv.TConvError, match=message):
        call()


def test_imbalance_of_an_all_zero_response_is_zero():
    assert imbalance_of(np.zeros((2, 2, 2))) == 0.0
