"""Dask: ``conv_transpose`` (overlap-add) and ``conv`` (halo) chunk by chunk, equal to the in-memory result.

Random geometries (every padding form, output_padding, dilation, groups, bias, unbatched, N = 0) on
random chunkings — chunks of 1 included, which the backend rechunks — and the padding modes; the
result is lazy, chunked as documented (input chunks × stride), and equal to NumPy's. The scheduler is
the synchronous one here; ``test_distributed.py`` runs a cluster of processes.
"""

from __future__ import annotations

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
import dask  # noqa: E402

import tconv  # noqa: E402
from tconv.backends import dask as backend  # noqa: E402
from tests.geometries import random_cases  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")


@pytest.fixture(autouse=True)
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def random_chunks(rng, shape):
    return tuple(int(rng.integers(1, max(n, 1) + 1)) if n else 1 for n in shape)


def conv_args(case):
    """conv's keyword arguments with the case's stride, padding, dilation and groups."""
    kw = case.kwargs()
    kw.pop("output_padding")
    return kw


def test_conv_transpose_and_conv_equal_numpy_on_random_chunkings():
    rng = np.random.default_rng(0)
    worst, checked = 0.0, 0
    for case in random_cases(seed=31, count=120):
        x, w, b = case.arrays(rng)
        expected = tconv.conv_transpose(x, w, b, **case.kwargs())
        y = tconv.conv_transpose(da.from_array(x, chunks=random_chunks(rng, x.shape)), w, b, **case.kwargs())
        assert isinstance(y, da.Array) and y.shape == expected.shape and y.dtype == expected.dtype, case
        got = y.compute()
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, err_msg=str(case))
        worst = max(worst, float(np.max(np.abs(got - expected), initial=0)))
        u = rng.uniform(-1, 1, expected.shape)
        bias = None if b is None else b[: case.in_channels]
        try:
            expected_conv = tconv.conv(u, w, bias, **conv_args(case))
        except tconv.TConvError:  # conv refuses this padding for u (the padded input is smaller than k_eff)
            continue
        z = tconv.conv(da.from_array(u, chunks=random_chunks(rng, u.shape)), w, bias, **conv_args(case))
        np.testing.assert_allclose(z.compute(), expected_conv, rtol=1e-12, atol=1e-12, err_msg=str(case))
        checked += 1
    assert checked > 60 and worst < 1e-12


@pytest.mark.parametrize("mode", ["circular", "reflect", "replicate"])
def test_padding_modes(mode):
    rng = np.random.default_rng(1)
    checked = 0
    for case in random_cases(seed=32, count=40, forms=("torch",), batches=(None, 1, 2)):
        x, w, b = case.arrays(rng, np.int64)
        try:
            expected = tconv.conv_transpose(x, w, b, **case.kwargs(), padding_mode=mode)
        except tconv.TConvError:  # reflect: padding at least the size it reflects
            continue
        y = tconv.conv_transpose(
            da.from_array(x, chunks=random_chunks(rng, x.shape)), w, b, **case.kwargs(), padding_mode=mode
        )
        np.testing.assert_array_equal(y.compute(), expected, err_msg=str(case))
        u = rng.integers(-9, 10, expected.shape)
        z = tconv.conv(
            da.from_array(u, chunks=random_chunks(rng, u.shape)), w, None, **conv_args(case), padding_mode=mode
        )
        np.testing.assert_array_equal(z.compute(), tconv.conv(u, w, None, **conv_args(case), padding_mode=mode))
        checked += 1
    assert checked >= 10


def test_integers_exact_and_dask_weight_and_bias():
    rng = np.random.default_rng(2)
    x = rng.integers(-9, 10, (3, 4, 20, 9))
    w, b = rng.integers(-9, 10, (4, 3, 3, 2)), rng.integers(-9, 10, 6)
    kw = dict(stride=(2, 3), padding=((1, 2), (0, 1)), output_padding=(1, 0), groups=2, dilation=(1, 2))
    expected = tconv.conv_transpose(x, w, b, **kw)
    dx = da.from_array(x, chunks=(2, 3, 7, 4))
    for weight, bias in ((w, b), (da.from_array(w), da.from_array(b)), (da.from_array(w, chunks=2), b)):
        y = tconv.conv_transpose(dx, weight, bias, **kw)
        assert y.dtype == np.int64
        np.testing.assert_array_equal(y.compute(), expected)


def test_output_chunks_follow_input_chunks_times_stride_and_a_chain_stays_aligned():
    x = da.ones((2, 3, 64, 48), chunks=(1, 3, 16, 12))
    w = np.ones((3, 3, 4, 4))
    y = tconv.conv_transpose(x, w, stride=2, padding=1)  # k4 s2 p1: o = 2i
    assert y.chunks == ((1, 1), (3,), (32,) * 4, (24,) * 4)
    z = tconv.conv_transpose(y, w, stride=2, padding=1)
    assert z.chunks == ((1, 1), (3,), (64,) * 4, (48,) * 4)
    down = tconv.conv(z, w, stride=2, padding=1)  # and conv divides them again
    assert down.chunks == y.chunks
    np.testing.assert_allclose(
        down.compute(), tconv.conv(tconv.conv_transpose(y.compute(), w, stride=2, padding=1), w, stride=2, padding=1)
    )


def test_the_result_is_lazy():
    calls = []

    def block(b):
        calls.append(b.shape)
        return b

    x = da.ones((1, 2, 12), chunks=(1, 2, 4)).map_blocks(block, meta=np.empty((0, 0, 0)))
    y = tconv.conv_transpose(x, np.ones((2, 1, 3)), stride=2)
    z = tconv.conv(y, np.ones((1, 1, 3)), stride=2)
    assert isinstance(y, da.Array) and isinstance(z, da.Array) and calls == []
    y.compute()
    assert len(calls) == 3


def test_small_chunks_are_rechunked_or_refused():
    x = da.ones((1, 1, 20), chunks=(1, 1, 1))
    w = np.ones((1, 1, 5))
    y = tconv.conv_transpose(x, w)  # k_eff = 5, s = 1: chunks of 1 are rechunked to 5
    np.testing.assert_array_equal(y.compute(), tconv.conv_transpose(np.ones((1, 1, 20)), w))
    with pytest.raises(
        tconv.TConvError,
        match=r"chunks \(1, 1, .*\) on spatial axis 0 are smaller than the kernel's reach: each must hold at least 5 cells",
    ):
        backend.conv_transpose(x, w, small_chunks="raise")
    with pytest.raises(tconv.TConvError, match="at least 5 cells"):
        backend.conv(x, w, small_chunks="raise")
    # Dask's own remainder: a last chunk smaller than the reach is accepted, and still exact.
    tail = da.ones((1, 1, 22), chunks=(1, 1, 5))
    np.testing.assert_array_equal(
        backend.conv_transpose(tail, w, small_chunks="raise").compute(), tconv.conv_transpose(np.ones((1, 1, 22)), w)
    )
    np.testing.assert_array_equal(
        backend.conv(tail, w, small_chunks="raise").compute(), tconv.conv(np.ones((1, 1, 22)), w)
    )


def test_mixing_libraries_names_both():
    torch = pytest.importorskip("torch")
    x = da.ones((1, 1, 8), chunks=(1, 1, 4))
    with pytest.raises(tconv.TConvTypeError, match="x is a dask array but weight is a torch array"):
        tconv.conv_transpose(x, torch.ones(1, 1, 3))
    with pytest.raises(tconv.TConvTypeError, match="x is a dask array but bias is a torch array"):
        tconv.conv(x, np.ones((1, 1, 3)), torch.ones(1))


def test_bad_arguments_are_refused_before_a_graph_is_built():
    x = da.ones((1, 2, 8), chunks=(1, 2, 4))
    with pytest.raises(tconv.TConvError, match="input has 2 channels"):
        tconv.conv_transpose(x, np.ones((3, 1, 3)))
    with pytest.raises(tconv.TConvError, match="output_padding"):
        tconv.conv_transpose(x, np.ones((2, 1, 3)), output_padding=2)
    with pytest.raises(tconv.TConvError, match="reflect"):
        tconv.conv(x, np.ones((1, 2, 3)), padding=8, padding_mode="reflect")
