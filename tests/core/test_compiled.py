"""The compiled arrangement (:mod:`tconv.methods.gemm_compiled`, numba) equals the readable methods.

On random geometries (groups, dilation, output_padding, every padding spelling, 1-3-D, N = 1-3) in
every dtype tconv computes in — float32, float64, int64 (exact) and float16 (computed in float32 by
the API) — against the readable GEMM + col2im and scatter; on larger random geometries, which take
every block shape of the loop (4, 2 and 1 outputs × 4 and 1 channels, runs of taps cut at the
edges, dilation not dividing the stride), against scatter and polyphase, floats to rounding relative
to the sum of the terms' magnitudes. Without numba (hidden from the import system) the fast path
keeps its NumPy arrangements and every result stays the same.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import tconv
from tconv.arguments import transpose_geometry
from tconv.methods import choice, gemm_col2im, gemm_compiled, gemm_numpy, gemm_separable, gemm_tiles
from tconv.methods.gemm import readable
from tconv.methods.scatter import scatter
from tests.geometries import random_cases

NDIMS = pytest.mark.parametrize("ndim", [1, 2, 3], ids=["1d", "2d", "3d"])
DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64], ids=["float32", "float64", "int64"])
TOLERANCE = {np.float64: 1e-12, np.float32: 2e-5}
needs_numba = pytest.mark.skipif(not gemm_compiled.available(), reason="numba is not installed (the fast extra)")


def _equal(y, expected, dtype):
    assert y.shape == expected.shape and y.dtype == expected.dtype
    if np.issubdtype(dtype, np.integer):
        np.testing.assert_array_equal(y, expected)
    else:
        tol = TOLERANCE[dtype]
        np.testing.assert_allclose(y, expected, rtol=tol, atol=tol * max(1.0, float(np.abs(expected).max(initial=0))))


@needs_numba
@NDIMS
@DTYPES
def test_compiled_equals_readable_gemm_and_scatter(ndim, dtype, rng):
    for case in random_cases(4000 + ndim, 30, ndim, batches=(1, 2, 3)):
        g = transpose_geometry(case.x_shape, case.weight_shape, **case.kwargs())
        x, w, _ = case.arrays(rng, dtype)
        y = gemm_numpy.conv_transpose(x, w, g, arrangement="compiled")
        _equal(y, readable(x, w, g), dtype)
        _equal(y, scatter(x, w, g), dtype)


def _larger_geometry(rng, ndim):
    """A random geometry large enough for every block of the loop: up to 12 (3-D: 6) inputs per
    axis, 1-10 output channels per group, strides 1-3, dilations 1-3, kernels 1-5, crops, output
    padding, 1-3 groups."""
    groups = int(rng.integers(1, 4))
    cig, cog = int(rng.integers(1, 7)), int(rng.integers(1, 11))
    size = 12 if ndim < 3 else 6
    spatial = tuple(int(v) for v in rng.integers(1, size + 1, ndim))
    kernel = tuple(int(v) for v in rng.integers(1, 6, ndim))
    stride = tuple(int(v) for v in rng.integers(1, 4, ndim))
    dilation = tuple(int(v) for v in rng.integers(1, 4, ndim))
    padding = tuple(int(rng.integers(0, d * (k - 1) + 1)) for k, d in zip(kernel, dilation))
    op = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
    x_shape = (int(rng.integers(1, 3)), groups * cig, *spatial)
    w_shape = (groups * cig, cog, *kernel)
    kw = dict(stride=stride, padding=padding, output_padding=op, dilation=dilation, groups=groups)
    try:
        g = transpose_geometry(x_shape, w_shape, **kw)
    except tconv.TConvError:
        return None
    return x_shape, w_shape, kw, g


@needs_numba
@NDIMS
@DTYPES
def test_compiled_equals_scatter_and_polyphase_on_larger_geometries(ndim, dtype, rng):
    """Floats to rounding relative to Σ|terms| (the same call on |x| and |w|): any order of summing
    ``m`` terms errs by at most ``m·ε·Σ|terms|``, twice that between two orders; integers exactly."""
    done = 0
    while done < 25:
        drawn = _larger_geometry(rng, ndim)
        if drawn is None:
            continue
        x_shape, w_shape, kw, g = drawn
        if np.issubdtype(dtype, np.integer):
            x, w = rng.integers(-50, 51, x_shape).astype(dtype), rng.integers(-50, 51, w_shape).astype(dtype)
        else:
            x, w = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
        y = gemm_numpy.conv_transpose(x, w, g, arrangement="compiled")
        for method in ("scatter", "polyphase"):
            expected = tconv.conv_transpose(x, w, **kw, method=method)
            assert y.shape == expected.shape and y.dtype == expected.dtype
            if np.issubdtype(dtype, np.integer):
                np.testing.assert_array_equal(y, expected)
            else:
                magnitude = scatter(np.abs(x).astype(np.float64), np.abs(w).astype(np.float64), g)
                bound = 2 * (g.small_channels // g.groups) * g.taps * np.finfo(dtype).eps * magnitude
                assert np.all(np.abs(y.astype(np.float64) - expected) <= bound + np.finfo(dtype).tiny)
        done += 1


@needs_numba
@pytest.mark.parametrize(
    "x_shape, w_shape, kw",
    [
        ((2, 96, 700), (96, 3, 2), dict(stride=2)),  # a long input row: its copy in tiles of 16 rows
        ((1, 512, 1, 1), (512, 128, 5, 5), dict(stride=2, padding=2)),  # a large weight: 16 channels at a time
        ((2, 64, 3, 600), (64, 4, 2, 3), dict(stride=(1, 2), padding=1, groups=2)),
    ],
)
def test_compiled_copies_large_inputs_and_weights_in_tiles(x_shape, w_shape, kw, rng):
    x, w = rng.integers(-9, 10, size=x_shape), rng.integers(-9, 10, size=w_shape)
    g = transpose_geometry(x_shape, w_shape, **kw)
    _equal(gemm_numpy.conv_transpose(x, w, g, arrangement="compiled"), readable(x, w, g), np.int64)


@needs_numba
def test_last_axis_runs_are_the_pairs_of_output_lists():
    """Each output's run (first input row, first reordered tap, count, step) lists exactly its pairs."""
    for args in [
        (2, 4, 4, 2, 1, 1),
        (5, 9, 3, 2, 1, 1),
        (7, 15, 5, 1, 3, 4),
        (4, 13, 4, 3, 2, 2),
        (3, 3, 1, 1, 1, 0),
        (6, 4, 3, 2, 2, 5),
    ]:
        order, x0, w0, count, chain, step, slots = gemm_compiled.last_axis(*args)
        start, tap, inp = gemm_compiled.output_lists(*args)
        assert sorted(order.tolist()) == list(range(args[1]))
        for p, o in enumerate(order.tolist()):
            run = {(int(slots[w0[p] + j]), int(x0[p] + j * step)) for j in range(int(count[p]))}
            assert run == {(int(tap[j]), int(inp[j])) for j in range(start[o], start[o + 1])}
            if chain[p] > 1:  # the next output of the phase: the same taps, one input row on
                q = p + 1
                assert (count[q], w0[q], x0[q]) == (count[p], w0[p], x0[p] + 1)


@needs_numba
def test_compiled_with_threads_non_contiguous_input_and_no_images(rng):
    x = rng.integers(-9, 10, size=(9, 6, 12, 3)).transpose(3, 1, 2, 0)  # (3, 6, 12, 9), not contiguous
    w = rng.integers(-9, 10, size=(6, 2, 3, 4))
    g = transpose_geometry(x.shape, w.shape, stride=(2, 3), padding=1, groups=2)
    old, previous = gemm_compiled.THREAD_MACS, tconv.get_num_threads()
    try:
        gemm_compiled.THREAD_MACS = 1  # every call cut into parts, one per thread
        for threads in (1, 2, 3):
            tconv.set_num_threads(threads)
            _equal(gemm_numpy.conv_transpose(x, w, g, arrangement="compiled"), scatter(x, w, g), np.int64)
    finally:
        gemm_compiled.THREAD_MACS = old
        tconv.set_num_threads(previous)
    empty = gemm_numpy.conv_transpose(x[:0], w, transpose_geometry((0, *x.shape[1:]), w.shape, stride=2, groups=2))
    assert empty.shape[0] == 0


@needs_numba
@NDIMS
@DTYPES
@pytest.mark.parametrize("arrangement", ["channels_first", "channels_last"])
def test_compiled_col2im_equals_readable_gemm(arrangement, ndim, dtype, monkeypatch, rng):
    """channels-first's and channels-last's compiled col2im on random geometries, in one tile and in
    many (the folded product's strided columns, blocks of images and of channels), on the calling
    thread and with every block's rows cut over tconv's two threads (checked: the kernels saw
    ranges of rows that start past 0)."""
    starts = []
    for name in ("_col2im_kernel", "_col2im_last_kernel"):
        real = getattr(gemm_col2im, name)()

        def spy(*args, real=real):
            starts.append(args[-2])  # r0: the first row of this part
            return real(*args)

        monkeypatch.setattr(gemm_col2im, name, lambda spy=spy: spy)
    monkeypatch.setattr(gemm_separable, "TINY_MACS", 0)  # not the tiny calls' col2im product: these are tiny
    for threads in (1, 2):
        previous = tconv.set_num_threads(threads)
        monkeypatch.setattr(gemm_tiles, "THREAD_MIN", 1 if threads == 2 else gemm_tiles.THREAD_MIN)
        starts.clear()
        try:
            for case in random_cases(4200 + ndim, 20, ndim, batches=(1, 2, 3)):
                g = transpose_geometry(case.x_shape, case.weight_shape, **case.kwargs())
                x, w, _ = case.arrays(rng, dtype)
                for budget in (gemm_numpy.WORKSPACE_BYTES, 1):
                    y = gemm_numpy.conv_transpose(x, w, g, workspace_bytes=budget, arrangement=arrangement)
                    _equal(y, readable(x, w, g), dtype)
        finally:
            tconv.set_num_threads(previous)
        assert starts and (max(starts) > 0) == (threads == 2)


@needs_numba
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_compiled_col2im_keeps_non_finite_values_where_they_land(bad):
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    w = np.array([[[[1.0, 0.0, 2.0], [0.0, bad, 0.0], [3.0, 0.0, 4.0]]]])
    g = transpose_geometry(x.shape, w.shape, stride=2)
    for arrangement in ("channels_first", "channels_last"):
        y = gemm_numpy.conv_transpose(x, w, g, arrangement=arrangement)
        np.testing.assert_array_equal(y, readable(x, w, g))


@needs_numba
def test_the_rule_takes_the_compiled_loop_where_it_wins():
    tiny = transpose_geometry((2, 8, 5, 5), (8, 4, 4, 4), stride=2, padding=1)
    assert gemm_numpy.plan(tiny, "int64") == gemm_numpy.plan(tiny, "float32") == "compiled"
    assert gemm_numpy.plan(tiny) != "compiled"  # no dtype: the NumPy arrangements only
    shallow = transpose_geometry((2, 16, 8, 8, 8), (16, 8, 4, 4, 4), stride=2, padding=1)  # 2²³ multiply-adds
    assert gemm_compiled.wins(shallow, "float32") and gemm_numpy.plan(shallow, "float32") == "compiled"
    larger = transpose_geometry((4, 32, 16, 16, 16), (32, 16, 4, 4, 4), stride=2, padding=1)  # past 2²³: BLAS
    assert not gemm_compiled.wins(larger, "float32") and gemm_numpy.plan(larger, "float32") == "channels_first"
    deep = transpose_geometry((8, 256, 16, 16), (256, 128, 4, 4), stride=2, padding=1)  # BLAS near its peak
    assert not gemm_compiled.wins(deep, "float32") and gemm_numpy.plan(deep, "float32") != "compiled"
    assert gemm_numpy.plan(deep, "int64") == "compiled"  # integers: always
    assert "compiled" in str(tconv.plan((2, 8, 5, 5), (8, 4, 4, 4), stride=2, padding=1, dtype=np.int64))


@needs_numba
def test_float16_through_the_api_computes_in_float32(monkeypatch, rng):
    compiled = choice.Choice("compiled", "measured", (("compiled", 1.0),))
    monkeypatch.setattr(choice, "measure", lambda *args, **kwargs: compiled)  # method="measure" runs it
    x = rng.uniform(-1, 1, size=(2, 4, 5, 5)).astype(np.float16)
    w = rng.uniform(-1, 1, size=(4, 3, 3, 3)).astype(np.float16)
    ran = []
    real = gemm_compiled.compiled
    monkeypatch.setattr(gemm_compiled, "compiled", lambda *a: ran.append(a[0].dtype) or real(*a))
    y = tconv.conv_transpose(x, w, stride=2, padding=1, method="measure")
    assert y.dtype == np.float16 and ran == [np.float32]
    expected = tconv.conv_transpose(x, w, stride=2, padding=1, method="scatter")
    np.testing.assert_allclose(y.astype(np.float32), expected.astype(np.float32), rtol=2e-3, atol=2e-3)


def test_without_numba_everything_works_as_before(monkeypatch, rng):
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba now raises ImportError
    assert not gemm_compiled.available()
    for case in random_cases(4100, 20, batches=(1, 2)):
        g = transpose_geometry(case.x_shape, case.weight_shape, **case.kwargs())
        x, w, b = case.arrays(rng, np.int64)
        assert gemm_numpy.plan(g, x.dtype) == gemm_numpy.plan(g) != "compiled"
        y = tconv.conv_transpose(x, w, b, **case.kwargs(), method="gemm")
        np.testing.assert_array_equal(y, tconv.conv_transpose(x, w, b, **case.kwargs(), method="scatter"))


def test_import_tconv_does_not_import_numba():
    """numba is imported by the first call that may run a compiled kernel (a float or integer call
    on the fast path: the loop, or col2im), never by ``import tconv`` nor by other methods."""
    other = "tconv.conv_transpose(np.ones((2, 4, 8, 8)), np.ones((4, 3, 4, 4)), stride=2, method='scatter')"
    code = f"import sys, numpy as np, tconv; {other}; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
