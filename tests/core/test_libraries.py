"""Every method, ``conv`` and the padding modes on every array library (the ``xp`` fixture).

The NumPy result is the reference: the core suite checks it against the definition, PyTorch and the
adjoint. Integer data make the comparison exact; each library's result must also be an array of
that library (not NumPy), with the input's dtype.
"""

from __future__ import annotations

import numpy as np
import pytest

import tconv
from tests.geometries import adjoint_padding, random_cases

#: Random geometries per library: JAX dispatches every operation separately outside ``jit``, so it
#: gets fewer (its compiled path is checked in tests/backends/test_jax.py).
COUNT = {"numpy": 40, "array_api_strict": 40, "torch": 40, "jax": 4}


@pytest.mark.parametrize("method", tconv.METHODS)
def test_every_method_on_every_library(method, xp):
    rng = np.random.default_rng(7)
    for case in random_cases(seed=11, count=COUNT[xp.name]):
        x, w, b = case.arrays(rng, np.int64)
        expected = tconv.conv_transpose(x, w, b, **case.kwargs(), method="scatter")
        y = tconv.conv_transpose(xp.asarray(x), xp.asarray(w), xp.asarray(b), **case.kwargs(), method=method)
        assert xp.is_own(y) and y.dtype == xp.xp.int64, case
        np.testing.assert_array_equal(xp.to_numpy(y), expected, err_msg=str(case))


def test_conv_is_the_adjoint_on_every_library(xp):
    """⟨conv(y), x⟩ = ⟨y, conv_transpose(x)⟩ in exact integers, computed in the library."""
    rng = np.random.default_rng(8)
    for case in random_cases(seed=12, count=COUNT[xp.name], batches=(None, 1, 2)):
        x, w, _ = case.arrays(rng, np.int64)
        y = rng.integers(-9, 10, size=case.out_shape)
        kw = dict(stride=case.stride, padding=adjoint_padding(case), dilation=case.dilation, groups=case.groups)
        back = tconv.conv(xp.asarray(y), xp.asarray(w), **kw)
        assert xp.is_own(back)
        back = xp.to_numpy(back)[(..., *(slice(0, i) for i in case.spatial))]
        forward = xp.to_numpy(tconv.conv_transpose(xp.asarray(x), xp.asarray(w), **case.kwargs()))
        assert np.sum(back * x) == np.sum(y * forward), case
        np.testing.assert_array_equal(back, tconv.conv(y, w, **kw)[(..., *(slice(0, i) for i in case.spatial))])


@pytest.mark.parametrize("mode", ["circular", "reflect", "replicate"])
def test_padding_modes_on_every_library(mode, xp):
    rng = np.random.default_rng(9)
    checked = 0
    for case in random_cases(seed=13, count=COUNT[xp.name], forms=("torch",), batches=(None, 1, 2)):
        x, w, b = case.arrays(rng, np.int64)
        try:
            expected = tconv.conv_transpose(x, w, b, **case.kwargs(), padding_mode=mode)
        except tconv.TConvError:  # reflect needs padding smaller than the size it reflects
            continue
        y = tconv.conv_transpose(xp.asarray(x), xp.asarray(w), xp.asarray(b), **case.kwargs(), padding_mode=mode)
        np.testing.assert_array_equal(xp.to_numpy(y), expected, err_msg=str(case))
        kw = dict(stride=case.stride, padding=case.padding, dilation=case.dilation, groups=case.groups)
        u = rng.integers(-9, 10, size=expected.shape)
        z = tconv.conv(xp.asarray(u), xp.asarray(w), None, **kw, padding_mode=mode)
        np.testing.assert_array_equal(xp.to_numpy(z), tconv.conv(u, w, None, **kw, padding_mode=mode))
        checked += 1
    assert checked >= COUNT[xp.name] // 4


def test_floats_on_every_library(xp):
    """float32 and float64 agree with NumPy's to rounding; the dtype is kept."""
    rng = np.random.default_rng(10)
    for dtype, tol in (("float32", 1e-5), ("float64", 1e-12)):
        for case in random_cases(seed=14, count=COUNT[xp.name] // 2):
            x, w, b = case.arrays(rng, np.dtype(dtype))
            y = tconv.conv_transpose(xp.asarray(x), xp.asarray(w), xp.asarray(b), **case.kwargs())
            assert y.dtype == xp.dtype(dtype)
            np.testing.assert_allclose(
                xp.to_numpy(y), tconv.conv_transpose(x, w, b, **case.kwargs()), rtol=tol, atol=tol, err_msg=str(case)
            )


def test_mixing_libraries_names_both(xp):
    if xp.name == "numpy":
        pytest.skip("NumPy mixed with itself")
    x, w = np.ones((1, 1, 3)), np.ones((1, 1, 2))
    with pytest.raises(tconv.TConvTypeError, match=rf"x is a {xp.name} array, weight is a numpy array"):
        tconv.conv_transpose(xp.asarray(x), w)
    with pytest.raises(tconv.TConvTypeError, match=rf"x is a numpy array, weight is a {xp.name} array"):
        tconv.conv(x, xp.asarray(w))


def test_an_unsupported_library_lists_the_supported_ones():
    class Foreign:  # claims the array API, but array-api-compat cannot give it a namespace
        shape, dtype, ndim = (1, 1, 3), np.float64, 3

        def __array_namespace__(self, api_version=None):
            raise TypeError("no namespace here")

    with pytest.raises(
        tconv.TConvTypeError,
        match=r"arrays of library 'tests' are not supported; tconv supports numpy, torch, jax, array_api_strict, dask",
    ):
        tconv.conv_transpose(Foreign(), Foreign())
