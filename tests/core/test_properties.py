"""Properties every transposed convolution has, checked by hypothesis on random legal geometries.

Integer data makes every property exact: no tolerance can hide a wrong term. Hypothesis shrinks a
failure to a small geometry (``geometries.cases`` draws each field separately).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tconv
from tests.geometries import adjoint_padding, cases, dot, naive_conv_transpose

SETTINGS = settings(max_examples=80, deadline=None)
SEEDS = st.integers(0, 2**32 - 1)


def run(case, x, w, b=None, method="auto"):
    return tconv.conv_transpose(x, w, b, **case.kwargs(), method=method)


@SETTINGS
@given(case=cases(), seed=SEEDS)
def test_all_methods_give_the_same_integers(case, seed):
    x, w, b = case.arrays(np.random.default_rng(seed), np.int64)
    results = {m: run(case, x, w, b, m) for m in tconv.METHODS}
    for method, y in results.items():
        np.testing.assert_array_equal(y, results["scatter"], err_msg=f"{method} vs scatter, {case}")


@settings(max_examples=40, deadline=None)
@given(case=cases(batches=(None, 1, 2)), seed=SEEDS)
def test_equals_the_definition_term_by_term(case, seed):
    """Against the definition in exact Python arithmetic, one product at a time (geometries.py)."""
    x, w, _ = case.arrays(np.random.default_rng(seed), np.int64)
    expected = naive_conv_transpose(x, w, case).astype(np.int64)
    for method in tconv.METHODS:
        np.testing.assert_array_equal(run(case, x, w, method=method), expected, err_msg=f"{method}, {case}")


@SETTINGS
@given(case=cases(), seed=SEEDS, a=st.integers(-5, 5), c=st.integers(-5, 5))
def test_linear_in_the_input_and_in_the_weight(case, seed, a, c):
    rng = np.random.default_rng(seed)
    x1, w1, b = case.arrays(rng, np.int64)
    x2, w2, _ = case.arrays(rng, np.int64)
    for method in tconv.METHODS:
        y = lambda x, w: run(case, x, w, method=method)  # noqa: E731
        np.testing.assert_array_equal(y(a * x1 + c * x2, w1), a * y(x1, w1) + c * y(x2, w1))
        np.testing.assert_array_equal(y(x1, a * w1 + c * w2), a * y(x1, w1) + c * y(x1, w2))
        if b is not None:  # the bias is added once per output channel
            shape = (-1, *(1,) * case.ndim)
            np.testing.assert_array_equal(run(case, x1, w1, b, method), y(x1, w1) + b.reshape(shape))


@SETTINGS
@given(case=cases())
def test_output_shape_is_the_formula(case):
    """``o = (i − 1)·s + d·(k − 1) + 1 − b − e + op`` on every axis, with ``(b, e)`` from the padding."""
    args = (case.x_shape, case.weight_shape)
    assert tconv.output_shape(*args, **case.kwargs()) == case.out_shape
    g = tconv.transpose_geometry(*args, **case.kwargs())
    assert g.output_shape == case.out_shape and g.input_shape == case.x_shape and g.weight_shape == case.weight_shape
    assert g.full == case.full
    assert tuple(zip(g.begin, g.end)) == tuple((b, e - op) for (b, e), op in zip(case.pairs, case.output_padding))
    x, w, _ = case.arrays(np.random.default_rng(0), np.int64)
    assert run(case, x, w).shape == case.out_shape


@SETTINGS
@given(case=cases(), seed=SEEDS)
def test_conv_is_the_adjoint(case, seed):
    """The dot-product test ⟨conv(y), x⟩ = ⟨y, conv_transpose(x)⟩, exact in integers.

    ``conv`` takes the same weight, stride, dilation and groups, and the crop ``b`` as its left
    padding; its right padding is chosen so that it produces ``i`` outputs (geometries.adjoint_padding).
    """
    rng = np.random.default_rng(seed)
    x, w, _ = case.arrays(rng, np.int64)
    y = rng.integers(-9, 10, size=case.out_shape)
    conv = tconv.conv(
        y, w, stride=case.stride, padding=adjoint_padding(case), dilation=case.dilation, groups=case.groups
    )
    conv = conv[(..., *(slice(0, i) for i in case.spatial))]  # see adjoint_padding: op past the end crop
    assert conv.shape == case.x_shape
    for method in tconv.METHODS:
        assert dot(conv, x) == dot(y, run(case, x, w, method=method)), method


@SETTINGS
@given(case=cases(batches=(2,)), seed=SEEDS)
def test_images_are_independent_and_unbatched_is_one_image(case, seed):
    x, w, b = case.arrays(np.random.default_rng(seed), np.int64)
    y = run(case, x, w, b)
    for n in range(2):
        np.testing.assert_array_equal(run(case, x[n], w, b), y[n])
    assert run(case, x[:0], w, b).shape == (0, *case.out_shape[1:])


@SETTINGS
@given(case=cases(), seed=SEEDS, dtype=st.sampled_from(["float16", "float32", "float64"]))
def test_floats_keep_their_dtype(case, seed, dtype):
    x, w, b = case.arrays(np.random.default_rng(seed), np.dtype(dtype))
    for method in tconv.METHODS:
        assert run(case, x, w, b, method).dtype == np.dtype(dtype)
