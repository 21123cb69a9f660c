"""The fast NumPy path (``tconv.methods.gemm_numpy``) equals PyTorch and the readable array-API gemm.

Every random geometry (groups, dilation, output_padding, every padding spelling incl. ``"same"``,
1-3-D, N = 1 and N > 1) is run through each arrangement the fast path has — channels-first,
channels-last, phases and, where the geometry allows it, the ``k == s`` reshape — and with a tiny
workspace that forces the column buffer into many tiles, in float32 and float64; channels-first
both with NumPy's slice additions and with numba's compiled col2im (the ``fast`` extra).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tconv
from tconv.arguments import transpose_geometry
from tconv.methods import choice, gemm_col2im, gemm_compiled, gemm_numpy, gemm_separable
from tconv.methods.gemm import gemm, readable
from tests.geometries import random_cases, torch_conv_transpose

TOLERANCE = {np.float64: 1e-12, np.float32: 2e-5}
NDIMS = pytest.mark.parametrize("ndim", [1, 2, 3], ids=["1d", "2d", "3d"])
DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])


def _geometry(case):
    return transpose_geometry(case.x_shape, case.weight_shape, **case.kwargs())


def _close(a, b, dtype):
    tol = TOLERANCE[dtype]
    scale = max(1.0, float(np.max(np.abs(b), initial=0)))
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * scale)


def _arrangements(g):
    return [a for a in choice.candidates(g) if a != "compiled"]  # compiled: tests/core/test_compiled.py


@pytest.fixture(params=["product", "numpy", "compiled"], ids=["product-col2im", "numpy-col2im", "compiled-col2im"])
def col2im(request, monkeypatch):
    """col2im's three forms: as it runs (on these small geometries channels-first mostly takes the
    tiny calls' product with the 0/1 col2im matrix), NumPy's slice additions, or numba's compiled
    pass (where installed) — the last two with the tiny product turned off."""
    if request.param != "product":
        monkeypatch.setattr(gemm_separable, "TINY_MACS", 0)
    if request.param == "numpy":
        monkeypatch.setattr(gemm_col2im, "has_col2im", lambda dtype: False)
    elif request.param == "compiled" and not gemm_compiled.available():
        pytest.skip("numba is not installed (the fast extra)")
    return request.param


@NDIMS
@DTYPES
def test_every_arrangement_equals_readable_gemm(ndim, dtype, col2im, rng):
    for case in random_cases(1000 + ndim, 40, ndim, batches=(1, 2, 3)):
        g = _geometry(case)
        x, w, _ = case.arrays(rng, dtype)
        expected = readable(x, w, g)
        for how in _arrangements(g):
            for budget in (gemm_numpy.WORKSPACE_BYTES, 1):  # one tile, and one channel/image per tile
                y = gemm_numpy.conv_transpose(x, w, g, workspace_bytes=budget, arrangement=how)
                assert y.shape == expected.shape and y.dtype == dtype, (str(case), how)
                _close(y, expected, dtype)


@NDIMS
@DTYPES
def test_auto_equals_torch(ndim, dtype, rng):
    pytest.importorskip("torch")
    for case in random_cases(2000 + ndim, 40, ndim, batches=(None, 1, 2)):
        x, w, b = case.arrays(rng, dtype)
        y = tconv.conv_transpose(x, w, b, **case.kwargs(), method="gemm")
        _close(y, torch_conv_transpose(case, x, w, b), dtype)


@pytest.mark.parametrize(
    "shape, c_out, k, s, p, op, groups, dilation",
    [
        ((3, 32, 4, 4), 64, 4, 2, 1, 0, 1, 1),  # small image, many channels: channels-last
        ((2, 64, 5, 3), 48, 3, 2, 1, 1, 2, 1),  # channels-last with groups and output_padding
        ((1, 40, 6), 80, 5, 2, 2, 1, 1, 2),  # 1-D, one image, channels-last split over channels
        ((2, 8, 6, 6), 4, 2, 2, 0, 0, 1, 1),  # k == s: the reshape
        ((2, 8, 3, 4, 5), 6, 2, 2, 0, 0, 2, 1),  # 3-D k == s with groups
        ((2, 8, 3, 4, 5), 6, 3, 2, 1, 1, 1, 2),  # 3-D dilation and output_padding
        ((1, 16, 40, 40), 8, 4, 2, 1, 0, 1, 1),  # a larger image: the threaded col2im
    ],
)
def test_layer_shapes_equal_torch(shape, c_out, k, s, p, op, groups, dilation, rng):
    torch = pytest.importorskip("torch")
    nd = len(shape) - 2
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((shape[1], c_out // groups, *(k,) * nd)).astype(np.float32)
    kw = dict(stride=s, padding=p, output_padding=op, groups=groups, dilation=dilation)
    y = tconv.conv_transpose(x, w, **kw)
    fn = getattr(torch.nn.functional, f"conv_transpose{nd}d")
    expected = fn(torch.from_numpy(x).double(), torch.from_numpy(w).double(), **kw).numpy()
    _close(y, expected, np.float32)
    g = transpose_geometry(x.shape, w.shape, **kw)
    _close(gemm_numpy.conv_transpose(x, w, g, workspace_bytes=4096), expected, np.float32)


def test_same_padding_and_negative_end():
    """TensorFlow's "same" with k_eff < s appends zeros at the end; the fast path leaves them zero."""
    x = np.arange(1.0, 7.0).reshape(1, 2, 3)
    w = np.ones((2, 1, 2))
    y = tconv.conv_transpose(x, w, stride=3, padding="same", method="gemm")
    assert y.shape == (1, 1, 9)
    np.testing.assert_array_equal(y, tconv.conv_transpose(x, w, stride=3, padding="same", method="scatter"))


def test_integers_exact_and_non_contiguous_input(rng):
    x = rng.integers(-9, 10, size=(5, 6, 2, 4)).transpose(3, 1, 2, 0)  # (4, 6, 2, 5), not contiguous
    w = rng.integers(-9, 10, size=(6, 2, 3, 2))
    kw = dict(stride=(2, 1), padding=1, groups=2)
    y = tconv.conv_transpose(x, w, **kw, method="gemm")
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, tconv.conv_transpose(x, w, **kw, method="scatter"))


def test_gemm_dispatches_numpy_to_the_fast_path_only(monkeypatch):
    calls = []
    monkeypatch.setattr(gemm_numpy, "conv_transpose", lambda *a, **k: calls.append(1) or "fast")
    x, w = np.ones((1, 1, 2)), np.ones((1, 1, 2))
    g = transpose_geometry(x.shape, w.shape)
    assert gemm(x, w, g) == "fast"
    torch = pytest.importorskip("torch")
    y = gemm(torch.ones(1, 1, 2), torch.ones(1, 1, 2), g)  # the readable version, on tensors
    assert isinstance(y, torch.Tensor) and y.tolist() == [[[1.0, 2.0, 1.0]]] and calls == [1]


def test_tap_slices_skip_taps_in_the_crop():
    # i = 2, k = 3, s = 1, b = 2, o = 1: only output 0 = i·1 + t − 2 is kept, i.e. (i, t) = (0, 2), (1, 1).
    g = transpose_geometry((1, 1, 2), (1, 1, 3), padding=((2, 1),))
    assert g.large == (1,)
    kept = {(j, src[0].start, src[0].stop, dst[0].start) for j, src, dst in gemm_numpy.tap_slices(g)}
    assert kept == {(1, 1, 2, 0), (2, 0, 1, 0)}


@pytest.mark.parametrize("shape", [(2, 8, 40, 6), (1, 4, 20, 3, 5), (2, 3, 50)], ids=["2d", "3d", "1d"])
def test_k_equals_s_in_row_tiles(shape, rng):
    """Large ``k == s`` images are tiled by input rows (every channel per tile): equal to readable gemm."""
    nd = len(shape) - 2
    x = rng.standard_normal(shape)
    w = rng.standard_normal((shape[1], 5, *(2,) * nd))
    g = transpose_geometry(x.shape, w.shape, stride=2)
    row_bytes = 5 * 2**nd * math.prod(shape[3:]) * x.itemsize  # one input row's columns
    assert "reshape" in choice.candidates(g)
    y = gemm_numpy.conv_transpose(x, w, g, workspace_bytes=3 * row_bytes, arrangement="reshape")
    _close(y, readable(x, w, g), np.float64)


def test_empty_batch():
    x, w = np.zeros((0, 2, 3, 3), np.float32), np.ones((2, 3, 3, 3), np.float32)
    y = gemm(x, w, transpose_geometry(x.shape, w.shape, stride=2))
    assert y.shape == (0, 3, 7, 7) and y.dtype == np.float32


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_tiny_col2im_product_keeps_non_finite_values_where_they_land(bad):
    """Tiny calls sum the columns by one product with the 0/1 col2im matrix — but not when a column
    holds inf or nan, which the product's zeros would spread (0·inf = nan) to every output."""
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    w = np.array([[[[1.0, 0.0], [0.0, bad]]]])
    g = transpose_geometry(x.shape, w.shape)
    assert gemm_separable.col2im_matrix(g, x.dtype.str) is not None
    np.testing.assert_array_equal(gemm_numpy.conv_transpose(x, w, g), readable(x, w, g))
    finite = np.array([[[[1.0, 0.0], [0.0, 5.0]]]])
    np.testing.assert_array_equal(gemm_numpy.conv_transpose(x, finite, g), readable(x, finite, g))


def _threaded_call(queue):
    x = np.ones((1, 16, 64, 64), np.float32)
    w = np.ones((16, 64, 4, 4), np.float32)  # a column buffer of 4M elements: col2im uses threads
    queue.put(float(tconv.conv_transpose(x, w, stride=2, padding=1).sum()))


def test_threads_work_in_a_forked_child():
    """A forked child (a data-loader worker) inherits the thread pool object but not its threads."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    ctx = multiprocessing.get_context("fork")
    parent = ctx.Queue()
    _threaded_call(parent)  # makes the pool here
    expected = parent.get(timeout=600)
    child_queue = ctx.Queue()
    child = ctx.Process(target=_threaded_call, args=(child_queue,))
    child.start()
    child.join(60)
    if child.is_alive():
        child.kill()
        pytest.fail("col2im hung in a forked child")
    assert child_queue.get(timeout=600) == expected


@pytest.mark.parametrize(
    "shape, c_out, k, s, p, how",
    [
        ((1, 64, 64, 64), 64, 4, 2, 1, "channels_first"),
        ((64, 64, 4, 4), 64, 4, 2, 1, "channels_last"),
        ((1, 16, 96, 96), 16, 2, 2, 0, "reshape"),
        ((1, 64, 64, 64), 64, 4, 2, 1, "phases"),
        ((64, 64, 4, 4), 64, 4, 2, 1, "phases"),
    ],
    ids=["channels-first", "channels-last", "k=s rows", "phases rows", "phases images"],
)
def test_column_buffer_is_tiled(shape, c_out, k, s, p, how):
    """The whole column buffer (16 MiB, 4 MiB, 2.3 MiB here) never exists: at most one tile of
    ``workspace_bytes`` plus buffers no larger than the input or the output."""
    import tracemalloc

    x = np.ones(shape, np.float32)
    w = np.ones((shape[1], c_out, k, k), np.float32)
    g = transpose_geometry(x.shape, w.shape, stride=s, padding=p)
    budget = 2**18
    gemm_numpy.conv_transpose(x, w, g, workspace_bytes=budget, arrangement=how)  # caches, thread pool
    tracemalloc.start()
    try:
        y = gemm_numpy.conv_transpose(x, w, g, workspace_bytes=budget, arrangement=how)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    columns = math.prod(g.output_shape[:2]) * k * k * math.prod(shape[2:]) * 4
    assert columns > 8 * budget
    assert peak - y.nbytes <= 2 * budget + max(x.nbytes, w.nbytes, y.nbytes), (peak - y.nbytes, columns)


@pytest.fixture
def split_everything(monkeypatch):
    """Two tconv threads, BLAS single-threaded by the caller (threadpoolctl), and every call large
    enough to be split (``gemm_tiles.split``)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from tconv.methods import gemm_tiles

    if not gemm_tiles._blas_controllers():
        pytest.skip("NumPy's BLAS threads cannot be read here")
    monkeypatch.setattr(gemm_tiles, "SPLIT_MIN", 0)
    monkeypatch.setattr(gemm_tiles, "SPLIT_COLUMNS", 1)
    previous = tconv.set_num_threads(2)
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        yield gemm_tiles
    tconv.set_num_threads(previous)


def _blas_threads(gemm_tiles):
    return [lib.get_num_threads() for lib in gemm_tiles._blas_controllers()]


def _split_cases(ndim, rng):
    """The random geometries, and one-image ones with channels enough to be split by channels."""
    for case in random_cases(3000 + ndim, 30, ndim, batches=(1, 2, 5)):
        x, w, _ = case.arrays(rng, np.float64)
        yield x, w, _geometry(case)
    for groups, k, s, p, op, d in [(1, 4, 2, 1, 0, 1), (2, 3, 2, 1, 1, 1), (1, 3, 3, 0, 2, 2), (3, 2, 2, 0, 0, 1)]:
        x = rng.standard_normal((1, 3 * groups, *(5,) * ndim))
        w = rng.standard_normal((3 * groups, 9, *(k,) * ndim))
        kw = dict(stride=s, padding=p, output_padding=op, dilation=d, groups=groups)
        yield x, w, transpose_geometry(x.shape, w.shape, **kw)


@NDIMS
def test_split_calls_equal_readable_gemm(ndim, split_everything, rng):
    """Split over threads — by images or by output channels, each thread with its own tiles — every
    arrangement gives the readable gemm's result."""
    gemm_tiles = split_everything
    kinds = set()
    for x, w, g in _split_cases(ndim, rng):
        expected = readable(x, w, g)
        for how in _arrangements(g):
            parts = gemm_tiles.split(x.shape[0], g.large_channels // g.groups, math.prod(g.small), 1, how != "phases")
            kinds.add("images" if parts and parts[0][1] < x.shape[0] else "channels" if parts else "whole")
            for budget in (gemm_numpy.WORKSPACE_BYTES, 1):
                y = gemm_numpy.conv_transpose(x, w, g, workspace_bytes=budget, arrangement=how)
                _close(y, expected, np.float64)
    assert {"images", "channels"} <= kinds
    assert _blas_threads(gemm_tiles) == [1] * len(gemm_tiles._blas_controllers())


def test_a_failing_part_fails_the_call(split_everything, monkeypatch):
    x, w = np.ones((4, 8, 6, 6)), np.ones((8, 8, 4, 4))
    g = transpose_geometry(x.shape, w.shape, stride=2)

    def fail(*args):
        raise RuntimeError("a part failed")

    monkeypatch.setattr(gemm_numpy, "_channels_first", fail)
    with pytest.raises(RuntimeError, match="a part failed"):
        gemm_numpy.conv_transpose(x, w, g, arrangement="channels_first")


def test_split_calls_from_several_threads_at_once(split_everything, rng):
    """Concurrent split calls share the pool; each is right."""
    from concurrent.futures import ThreadPoolExecutor

    x, w = rng.standard_normal((3, 6, 9, 7)), rng.standard_normal((6, 10, 3, 3))
    g = transpose_geometry(x.shape, w.shape, stride=2, padding=1)
    expected = readable(x, w, g)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: gemm_numpy.conv_transpose(x, w, g), range(24)))
    for y in results:
        _close(y, expected, np.float64)


@pytest.mark.parametrize("controllers", ["none", "multi-threaded"])
def test_no_split_unless_blas_runs_single_threaded(controllers, monkeypatch):
    """Without threadpoolctl, or with BLAS at several threads (the process's setting, which tconv
    never changes), a call is not split."""
    from tconv.methods import gemm_tiles

    class TwoThreads:
        def get_num_threads(self):
            return 2

    monkeypatch.setattr(gemm_tiles, "_blas_controllers", lambda: () if controllers == "none" else (TwoThreads(),))
    previous = tconv.set_num_threads(2)
    try:
        assert gemm_tiles.split(8, 64, 1024, 1 << 40) == ()
    finally:
        tconv.set_num_threads(previous)


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_separable_keeps_non_finite_values_where_they_land(bad, rng):
    """``separable`` multiplies by the zeros of each axis's 0/1 matrix, so columns holding inf or nan
    take the slice additions: the inf lands only where its tap does, as in the readable gemm."""
    x = rng.standard_normal((2, 3, 5, 4))
    w = rng.standard_normal((3, 4, 3, 3))
    w[1, 2, 0, 1] = bad
    g = transpose_geometry(x.shape, w.shape, stride=2, padding=1, output_padding=1)
    y = gemm_numpy.conv_transpose(x, w, g, arrangement="separable")
    expected = readable(x, w, g)
    np.testing.assert_array_equal(np.isfinite(y), np.isfinite(expected))
    _close(np.nan_to_num(y, posinf=0), np.nan_to_num(expected, posinf=0), np.float64)


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_phases_with_a_non_finite_weight_equals_readable_gemm(bad, rng):
    """The phases arrangement multiplies the input's zero border by every weight (0·inf = nan where
    no tap lands); with a non-finite weight the call takes the slice additions instead."""
    x = rng.standard_normal((2, 3, 5, 4))
    w = rng.standard_normal((3, 4, 3, 3))
    w[2, 1, 1, 2] = bad
    g = transpose_geometry(x.shape, w.shape, stride=2, padding=1, output_padding=1)
    y = gemm_numpy.conv_transpose(x, w, g, arrangement="phases")
    np.testing.assert_array_equal(y, gemm_numpy.conv_transpose(x, w, g, arrangement="channels_first"))
    np.testing.assert_array_equal(np.isnan(y), np.isnan(readable(x, w, g)))
