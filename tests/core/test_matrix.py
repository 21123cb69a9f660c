"""``conv_matrix``: the convolution as a dense matrix ``C``, whose transpose is the transposed convolution.

Rows are ``(input channel, small-side position)``, columns ``(output channel, large-side position)``,
both flattened row-major: ``conv_transpose(x) = Cᵀ x`` and ``conv(y) = C y``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tconv
from tests.geometries import adjoint_padding, cases


def geometry(x_shape, w_shape, **kwargs):
    return tconv.transpose_geometry(x_shape, w_shape, **kwargs)


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        # conv(y)[i] = Σ_t w[t]·y[i·s + t·d − b], w = [1, 2], two small positions:
        # s = 1, b = 0, o = 3: row i holds w at columns i, i + 1.
        (dict(), [[1, 2, 0], [0, 1, 2]]),
        # s = 2: F = 2 + 2 = 4: row i holds w at columns 2i, 2i + 1 (no overlap).
        (dict(stride=2), [[1, 2, 0, 0], [0, 0, 1, 2]]),
        # d = 2: taps at i and i + 2, F = 1 + 3 = 4.
        (dict(dilation=2), [[1, 0, 2, 0], [0, 1, 0, 2]]),
        # padding 1: o = 3 − 2 = 1, column 0 is full position 1: tap 1 of row 0, tap 0 of row 1.
        (dict(padding=1), [[2], [1]]),
        # s = 2, padding 1, output_padding 1: F = 4, o = 4 − 2 + 1 = 3, columns = full positions 1..3;
        # row 0 stamps full 0, 1 (only tap 1 is kept), row 1 stamps full 2, 3.
        (dict(stride=2, padding=1, output_padding=1), [[2, 0, 0], [0, 1, 2]]),
    ],
    ids=["plain", "stride", "dilation", "padding", "output_padding"],
)
def test_hand_checked_matrix(kwargs, expected):
    c = tconv.conv_matrix(geometry((1, 2), (1, 1, 2), **kwargs), np.array([[[1, 2]]]))
    np.testing.assert_array_equal(c, expected)


def test_groups_make_the_matrix_block_diagonal():
    # groups = 2, one channel per group, k = 1, i = o = 2: C = diag(w0·I₂, w1·I₂).
    c = tconv.conv_matrix(geometry((2, 2), (2, 1, 1), groups=2), np.array([[[3]], [[5]]]))
    np.testing.assert_array_equal(c, np.diag([3, 3, 5, 5]))


@settings(max_examples=60, deadline=None)
@given(case=cases(batches=(None,)), seed=st.integers(0, 2**32 - 1))
def test_transpose_of_the_matrix_is_the_transposed_convolution(case, seed):
    rng = np.random.default_rng(seed)
    x, w, _ = case.arrays(rng, np.int64)
    c = tconv.conv_matrix(tconv.transpose_geometry(case.x_shape, case.weight_shape, **case.kwargs()), w)
    assert c.shape == (x.size, case.out_channels * int(np.prod(case.out_spatial)))
    for method in tconv.METHODS:
        y = tconv.conv_transpose(x, w, **case.kwargs(), method=method)
        np.testing.assert_array_equal(c.T @ x.ravel(), y.ravel(), err_msg=method)
    # ... and the matrix itself is the convolution, the adjoint.
    y = rng.integers(-9, 10, size=case.out_shape)
    conv = tconv.conv(
        y, w, stride=case.stride, padding=adjoint_padding(case), dilation=case.dilation, groups=case.groups
    )
    conv = conv[(..., *(slice(0, i) for i in case.spatial))]
    np.testing.assert_array_equal(c @ y.ravel(), conv.ravel())


def test_refuses_a_matrix_too_large():
    g = geometry((1, 1, 100, 100), (1, 1, 3, 3))
    with pytest.raises(tconv.TConvError, match="max_elements"):
        tconv.conv_matrix(g, np.ones((1, 1, 3, 3)))
