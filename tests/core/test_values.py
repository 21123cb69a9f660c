"""Values and dtypes: integers are exact, floats keep their dtype (summed in at least float32),
array-likes are accepted, and NaN and inf pass through like any other number — on every array
library (the ``xp`` fixture: NumPy, array-api-strict, torch, JAX where installed).
"""

from __future__ import annotations

import numpy as np
import pytest

import tconv

METHODS = pytest.mark.parametrize("method", tconv.METHODS)


@METHODS
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_float_dtype_is_kept(dtype, method, xp):
    x, w, b = (xp.asarray(np.ones(shape, dtype)) for shape in ((2, 3, 4), (3, 2, 3), (2,)))
    y = tconv.conv_transpose(x, w, bias=b, stride=2, method=method)
    assert xp.is_own(y) and y.dtype == xp.dtype(dtype)
    assert tconv.conv(tconv.conv_transpose(x, w, method=method), w).dtype == xp.dtype(dtype)


@METHODS
@pytest.mark.parametrize(
    "x_dtype, w_dtype, expected",
    [
        ("int64", "int64", "int64"),
        ("int32", "int8", "int64"),
        ("uint8", "int16", "int64"),
        ("int64", "float32", "float32"),
        ("float16", "float32", "float32"),
        ("float32", "float64", "float64"),
    ],
)
def test_result_dtype_of_mixed_inputs(x_dtype, w_dtype, expected, method, xp):
    x, w = xp.asarray(np.ones((1, 2, 3), x_dtype)), xp.asarray(np.ones((2, 1, 2), w_dtype))
    y = tconv.conv_transpose(x, w, method=method)
    assert y.dtype == xp.dtype(expected)
    np.testing.assert_array_equal(xp.to_numpy(y), [[[2, 4, 4, 2]]])  # 2 channels of ones, k = 2 → 2·[1, 2, 2, 1]


@METHODS
def test_integers_are_exact_beyond_float64(method, xp):
    # x·w = (2⁴⁰ + 1)(2²⁰ + 1) = 2⁶⁰ + 2⁴⁰ + 2²⁰ + 1, which float64 (53 bits) cannot hold; the second
    # output adds 2·(2²⁰ + 1) = 2²¹ + 2 more. Python's integers give the expected values exactly.
    a, b = 2**40 + 1, 2**20 + 1
    y = tconv.conv_transpose(xp.asarray(np.array([[[a, 1]]])), xp.asarray(np.array([[[b, 2]]])), method=method)
    assert y.dtype == xp.xp.int64
    assert xp.to_numpy(y).tolist() == [[[a * b, 2 * a + b, 2]]]
    assert float(a * b) != a * b  # the test would fail if anything went through float64


@METHODS
def test_integers_are_exact_beyond_float32(method, xp):
    # 2²⁵ + 1 is not a float32: an integer computation must not pass through float32.
    x, w = xp.asarray(np.array([[[2**25 + 1, 3]]], np.int32)), xp.asarray(np.array([[[1, 1]]], np.int32))
    y = tconv.conv_transpose(x, w, stride=1, method=method)
    assert xp.to_numpy(y).tolist() == [[[2**25 + 1, 2**25 + 4, 3]]]


@METHODS
def test_float16_is_summed_in_float32(method, xp):
    # 3000 input channels of 1 times a weight of 1: the sum is 3000, which float16 holds exactly
    # (its spacing there is 2). Summed in float16 it would stop at 2048, where 2048 + 1 rounds back
    # to 2048.
    x, w = xp.asarray(np.ones((1, 3000, 1), np.float16)), xp.asarray(np.ones((3000, 1, 1), np.float16))
    y = tconv.conv_transpose(x, w, method=method)
    assert y.dtype == xp.xp.float16 and xp.to_numpy(y).item() == 3000


@METHODS
def test_array_likes_are_accepted(method):
    # Tuples, lists and a NumPy scalar bias element, x unbatched (C_in=1, W=2), w (1, 1, 2).
    y = tconv.conv_transpose(((1, 2),), [[(1, 10)]], bias=[np.int64(5)], method=method)
    np.testing.assert_array_equal(y, [[6, 17, 25]])  # [1, 10 + 2, 20] + 5


# ---- NaN and inf -------------------------------------------------------------------------------------


@METHODS
def test_nan_reaches_exactly_the_outputs_its_input_touches(method, xp):
    # x = [nan, 1, 2], w = [1, 2], s = 3: F = 8; x[0] stamps at 0, 1 (both nan), x[1] at 3, 4,
    # x[2] at 6, 7; positions 2 and 5 are touched by nobody and stay 0.
    x, w = xp.asarray(np.array([[[np.nan, 1, 2]]])), xp.asarray(np.array([[[1.0, 2.0]]]))
    y = tconv.conv_transpose(x, w, stride=3, method=method)
    np.testing.assert_array_equal(xp.to_numpy(y), [[[np.nan, np.nan, 0, 1, 2, 0, 2, 4]]])


@METHODS
def test_inf_in_the_input_adds_like_a_number(method, xp):
    # x = [inf, 1], w = [1, −1], s = 1: y = [inf·1, inf·(−1) + 1·1, 1·(−1)] = [inf, −inf, −1].
    y = tconv.conv_transpose(
        xp.asarray(np.array([[[np.inf, 1.0]]])), xp.asarray(np.array([[[1.0, -1.0]]])), method=method
    )
    np.testing.assert_array_equal(xp.to_numpy(y), [[[np.inf, -np.inf, -1.0]]])


ZEROS_TIMES_WEIGHT = {  # methods that multiply the weight by zeros the definition does not have
    "zero_insert": "multiplies the kernel by the inserted zeros and the border padding: 0·inf = nan",
    "polyphase": "its stride-1 correlations read zero padding at the borders: 0·inf = nan",
}


@pytest.mark.parametrize(
    "method",
    [
        pytest.param(m, marks=pytest.mark.xfail(reason=ZEROS_TIMES_WEIGHT[m], strict=True))
        if m in ZEROS_TIMES_WEIGHT
        else m
        for m in tconv.METHODS
    ],
)
def test_inf_in_the_weight_reaches_only_where_its_tap_lands(method):
    # x = [1, 1], w = [1, inf, 1], s = 1: y = [1, inf + 1, 1 + inf, 1] = [1, inf, inf, 1] — as
    # PyTorch gives. No term inf·0 exists in the definition, so no nan may appear.
    with np.errstate(invalid="ignore"):
        y = tconv.conv_transpose([[[1.0, 1.0]]], [[[1.0, np.inf, 1.0]]], method=method)
    np.testing.assert_array_equal(y, [[[1, np.inf, np.inf, 1]]])


def test_nan_in_conv():
    # conv([1, nan, 3], [1, 1]) = [1 + nan, nan + 3] = [nan, nan]; and [1, 2, nan] → [3, nan].
    np.testing.assert_array_equal(tconv.conv([[[1, np.nan, 3]]], [[[1.0, 1.0]]]), [[[np.nan, np.nan]]])
    np.testing.assert_array_equal(tconv.conv([[[1, 2, np.nan]]], [[[1.0, 1.0]]]), [[[3, np.nan]]])


@METHODS
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_arguments_are_not_modified(dtype, method, rng):
    # A call with the compute dtype already right works on the caller's arrays (no defensive copy),
    # so no method may write to them; nor may the result share memory with them.
    x = (rng.standard_normal((2, 4, 5, 3)) * 10).astype(dtype)
    w = (rng.standard_normal((4, 3, 3, 2)) * 10).astype(dtype)
    b = (rng.standard_normal(6) * 10).astype(dtype)
    before = x.copy(), w.copy(), b.copy()
    y = tconv.conv_transpose(x, w, b, stride=(2, 1), padding=1, groups=2, method=method)
    for kept, now in zip(before, (x, w, b)):
        np.testing.assert_array_equal(now, kept)
        assert not np.shares_memory(y, now)
    z = tconv.conv(y, w, b[:4], stride=(2, 1), padding=1, groups=2)
    np.testing.assert_array_equal(w, before[1])
    assert not np.shares_memory(z, y)


def test_repeated_calls_and_unhashable_arguments_agree():
    # Geometries are cached for hashable arguments; lists take the uncached path; both check alike.
    x, w = np.ones((1, 2, 4)), np.ones((2, 3, 3))
    first = tconv.conv_transpose(x, w, stride=2, padding=[(1, 0)])
    np.testing.assert_array_equal(tconv.conv_transpose(x, w, stride=2, padding=((1, 0),)), first)
    np.testing.assert_array_equal(tconv.conv_transpose(x, w, stride=[2], padding=((1, 0),)), first)
    for _ in range(2):
        with pytest.raises(tconv.TConvError, match="stride"):
            tconv.conv_transpose(x, w, stride=0)
        with pytest.raises(tconv.TConvTypeError, match="stride"):
            tconv.conv_transpose(x, w, stride=[1.5])
