"""Integer results are exact or refused: a call whose result could leave int64 raises, naming the
bound, before computing; every call that runs returns the exact integers (checked against Python's
unbounded integers)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tconv
from tconv.arguments import transpose_geometry
from tconv.geometry import taps_per_phase

INT64_MAX = 2**63 - 1


def exact_conv_transpose(x, w, stride, padding, dilation, groups):
    """The definition in Python integers (no overflow possible): 1-D, batched, PyTorch's layouts."""
    n, c_in, i = x.shape
    _, c_out_g, k = w.shape
    full = (i - 1) * stride + dilation * (k - 1) + 1
    y = [[[0] * (full - 2 * padding) for _ in range(c_out_g * groups)] for _ in range(n)]
    per_group = c_in // groups
    for b, ci, j, co, t in itertools.product(range(n), range(c_in), range(i), range(c_out_g), range(k)):
        o = j * stride + t * dilation - padding
        if 0 <= o < full - 2 * padding:
            y[b][ci // per_group * c_out_g + co][o] += int(x[b, ci, j]) * int(w[ci, co, t])
    return y


def test_the_readme_example_of_a_wrapped_result_is_refused():
    with pytest.raises(tconv.TConvError, match=r"could reach 18,446,744,073,709,551,616 .* beyond int64's"):
        tconv.conv_transpose(np.array([[[2**62]]]), np.array([[[4]]]))


@pytest.mark.parametrize("method", tconv.METHODS)
def test_at_the_bound_exact_one_past_refused(method):
    """k=3, s=2: the busiest phase sums 2 taps, so max|x|·max|w|·2 is the bound."""
    w = np.array([[[3, 5, 7]]])
    largest = INT64_MAX // (7 * 2)
    x = np.array([[[largest, largest, largest]]])
    y = tconv.conv_transpose(x, w, stride=2, method=method)
    assert y.tolist() == exact_conv_transpose(x, w, 2, 0, 1, 1)
    with pytest.raises(tconv.TConvError, match="int64"):
        tconv.conv_transpose(x + 1, w, stride=2, method=method)


@pytest.mark.parametrize("seed", range(40))
def test_exact_or_refused_never_wrong(seed):
    """Random geometries and magnitudes near the bound: the result equals Python's integers, or
    the call is refused; a refused call's bound really is beyond int64."""
    rng = np.random.default_rng(seed)
    groups = int(rng.integers(1, 3))
    c_in, c_out_g, k = groups * int(rng.integers(1, 3)), int(rng.integers(1, 3)), int(rng.integers(1, 5))
    stride, dilation, padding = int(rng.integers(1, 4)), int(rng.integers(1, 3)), 0
    scale = 2 ** int(rng.integers(28, 33))
    x = rng.integers(-scale, scale, size=(2, c_in, int(rng.integers(1, 5))), dtype=np.int64)
    w = rng.integers(-scale, scale, size=(c_in, c_out_g, k), dtype=np.int64)
    g = transpose_geometry(x.shape, w.shape, stride=stride, dilation=dilation, groups=groups)
    bound = g.max_terms * int(np.abs(x).max()) * int(np.abs(w).max())
    try:
        y = tconv.conv_transpose(x, w, stride=stride, dilation=dilation, groups=groups)
    except tconv.TConvError as exc:
        assert bound > INT64_MAX and "int64" in str(exc)
    else:
        assert bound <= INT64_MAX
        assert y.tolist() == exact_conv_transpose(x, w, stride, padding, dilation, groups)


def test_conv_and_bias_and_unsigned_inputs():
    with pytest.raises(tconv.TConvError, match=r"conv: an integer result could reach"):
        tconv.conv(np.full((1, 1, 4), 2**31), np.full((1, 1, 3), 2**31))
    x, w = np.array([[[INT64_MAX // 2]]]), np.array([[[2]]])
    assert tconv.conv_transpose(x, w).item() == INT64_MAX - 1
    with pytest.raises(tconv.TConvError, match=r"\+ max\|bias\|=2"):
        tconv.conv_transpose(x, w, np.array([2]))
    # uint64 values beyond int64 cannot be held by the int64 computation: refused, not wrapped
    with pytest.raises(tconv.TConvError, match="int64"):
        tconv.conv_transpose(np.array([[[2**63]]], np.uint64), np.array([[[1]]], np.uint64))


@pytest.mark.parametrize("mode", ["circular", "reflect", "replicate"])
def test_padding_modes_count_their_folded_cells(mode):
    """A padding mode folds padded cells back onto the signal: replicate folds ``b`` cells onto
    the first one, so its bound is larger, and the call still never wraps."""
    x = np.full((1, 1, 6), 2**59)
    w = np.ones((1, 1, 3), np.int64)
    try:
        y = tconv.conv_transpose(x, w, padding=2, padding_mode=mode)
    except tconv.TConvError as exc:
        assert "int64" in str(exc)
    else:
        reference = tconv.conv_transpose(x.astype(object).astype(float), w.astype(float), padding=2, padding_mode=mode)
        assert np.array_equal(y.astype(float), reference)


@pytest.mark.parametrize("k, s, d", [(k, s, d) for k in range(1, 7) for s in range(1, 5) for d in range(1, 4)])
def test_taps_per_phase_counts_the_taps_of_each_phase(k, s, d):
    counts = taps_per_phase(k, s, d)
    assert len(counts) == s and sum(counts) == k
    for phase, count in enumerate(counts):
        assert count == sum(1 for t in range(k) if t * d % s == phase)
