"""How the NumPy fast path picks its arrangement: the rule and the measured choice.

``method="auto"`` takes the rule's arrangement (:func:`tconv.methods.choice.rule`);
``method="measure"`` / ``tconv.plan(..., measure=True)`` times the arrangements once per geometry,
dtype and thread setting and remembers the fastest. Whatever either picks must equal the readable
definitions: checked on random geometries (every padding spelling, groups, dilation, 1-3-D) and on
every layer of the benchmark grid, shrunk to test size (channels and batch cut, the spatial shape
and the kernel kept, so the arrangement's code paths are the grid's own). No test here asserts on
a time: which arrangement is fastest is the machine's business.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import tconv
from tconv.arguments import transpose_geometry
from tconv.bench.layers import GRID
from tconv.methods import choice, gemm_numpy
from tconv.methods.gemm import readable
from tests.geometries import random_cases


@pytest.fixture(autouse=True)
def _fresh_measurements():
    """Every test starts and ends with nothing measured (the cache is the process's)."""
    choice.forget()
    yield
    choice.forget()


@pytest.mark.parametrize("method", ["auto", "measure"])
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_auto_and_measure_equal_scatter_on_random_geometries(method, ndim, rng):
    for case in random_cases(3000 + ndim, 12 if method == "measure" else 30, ndim, batches=(None, 1, 3)):
        x, w, b = case.arrays(rng, np.float64)
        y = tconv.conv_transpose(x, w, b, **case.kwargs(), method=method)
        np.testing.assert_allclose(y, tconv.conv_transpose(x, w, b, **case.kwargs(), method="scatter"), atol=1e-10)


@pytest.mark.parametrize("layer", GRID, ids=[layer.name for layer in GRID])
def test_every_grid_choice_equals_readable_gemm(layer, rng):
    small = dataclasses.replace(
        layer, input_shape=(min(layer.input_shape[0], 2), min(layer.input_shape[1], 8), *layer.input_shape[2:])
    )
    x = rng.standard_normal(small.input_shape)
    w = rng.standard_normal((small.input_shape[1], min(layer.out_channels, 6), *small.weight_shape[2:]))
    g = transpose_geometry(x.shape, w.shape, small.stride, small.padding, small.output_padding)
    assert gemm_numpy.plan(g, "float64") in choice.candidates(g, "float64")
    np.testing.assert_allclose(tconv.conv_transpose(x, w, **_kw(small)), readable(x, w, g), rtol=1e-12, atol=1e-10)
    # the full-size layer's own choice, run on the shrunk arrays' geometry with that arrangement
    full = transpose_geometry(layer.input_shape, layer.weight_shape, layer.stride, layer.padding, layer.output_padding)
    how = gemm_numpy.plan(full, "float32")
    assert how in choice.candidates(g, "float64")
    y = gemm_numpy.conv_transpose(x, w, g, arrangement=how)
    np.testing.assert_allclose(y, readable(x, w, g), rtol=1e-12, atol=1e-10)


def _kw(layer):
    return dict(stride=layer.stride, padding=layer.padding, output_padding=layer.output_padding)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "kwargs", "arrangement"),
    [
        ((8, 64, 32, 32), (64, 32, 2, 2), dict(stride=2), "reshape"),  # k = s: the taps tile the output
        ((8, 64, 32, 32), (64, 32, 2, 2), dict(stride=2, padding=1), "channels_first"),  # a crop: they overlap it
        ((64, 100, 1, 1), (100, 512, 4, 4), {}, "channels_last"),  # DCGAN's first layer: a 1-wide image
        ((2, 512, 1, 1), (512, 512, 4, 4), dict(stride=2, padding=1), "channels_first"),  # the weight outweighs
        ((16, 256, 4, 4), (256, 3, 3, 3), dict(stride=2, padding=1), "channels_first"),  # 3 channels: too few
        ((8, 64, 32, 32), (64, 32, 4, 4), dict(stride=2, padding=1), "channels_first"),  # a wide image
        ((4, 32, 8, 8), (32, 32, 4, 4), dict(stride=2, padding=1), "channels_last"),  # narrow: not numba's loop
        ((2, 64, 4, 4), (64, 32, 3, 3), dict(stride=2, padding=1), "channels_first"),  # narrow, but under 2²⁰
    ],
)
def test_the_rule_reads_as_documented(x_shape, w_shape, kwargs, arrangement):
    g = transpose_geometry(x_shape, w_shape, **kwargs)
    assert choice.rule(g, "float32").arrangement == arrangement
    assert arrangement in choice.candidates(g, "float32")


def test_the_rules_pick_always_applies():
    for ndim in (1, 2, 3):
        for case in random_cases(3100 + ndim, 40, ndim, batches=(None, 1, 5)):
            g = transpose_geometry(case.x_shape, case.weight_shape, **case.kwargs())
            for dtype in ("float32", "float64", "int64"):
                assert choice.rule(g, dtype).arrangement in choice.candidates(g, dtype)


def test_candidates_follow_the_geometry_and_the_dtype():
    tile = transpose_geometry((2, 16, 8, 8), (16, 8, 2, 2), stride=2)
    assert {"reshape", "channels_first", "channels_last", "separable", "phases"} <= set(choice.candidates(tile))
    overlap = transpose_geometry((2, 16, 8, 8), (16, 8, 4, 4), stride=2, padding=1)
    assert "reshape" not in choice.candidates(overlap)
    large = transpose_geometry((16, 64, 32, 32), (64, 64, 4, 4), stride=2, padding=1)  # columns over one tile
    assert "separable" not in choice.candidates(large, "float32")
    assert "compiled" not in choice.candidates(tile, None) and "compiled" not in choice.candidates(tile, "float16")


def test_measure_picks_an_arrangement_that_applies_and_remembers_it(monkeypatch):
    timed = []
    real = choice.best_time
    monkeypatch.setattr(choice, "best_time", lambda call, *a, **k: timed.append(call) or real(call, 1, 0.0))
    g = transpose_geometry((2, 8, 6, 6), (8, 4, 4, 4), stride=2, padding=1)
    first = choice.measure(g, "float32", gemm_numpy.conv_transpose)
    assert first.measured and first.reason == "measured"
    assert first.arrangement == first.times[0][0] in choice.candidates(g, "float32")
    assert [a for a, _ in first.times] and sorted(t for _, t in first.times) == [t for _, t in first.times]
    assert {a for a, _ in first.times} == set(choice.candidates(g, "float32"))
    count = len(timed)
    assert (
        choice.measure(g, "float32", gemm_numpy.conv_transpose) is first and len(timed) == count
    )  # remembered: nothing timed again
    choice.measure(g, "float64", gemm_numpy.conv_transpose)  # another dtype is another measurement
    assert len(timed) > count
    count = len(timed)
    before = tconv.get_num_threads()
    try:
        tconv.set_num_threads(1 if before > 1 else 2)  # another thread setting: measured again
        choice.measure(g, "float32", gemm_numpy.conv_transpose)
        assert len(timed) > count
    finally:
        tconv.set_num_threads(before)
    choice.forget()
    count = len(timed)
    choice.measure(g, "float32", gemm_numpy.conv_transpose)
    assert len(timed) > count


def test_plan_shows_the_rule_or_the_measured_times():
    p = tconv.plan((8, 64, 32, 32), (64, 64, 4, 4), stride=2, padding=1)
    assert p.method == "gemm" and p.arrangement == p.choice.arrangement and not p.choice.measured
    assert f"arrangement:   {p.arrangement} (NumPy fast path, rule: {p.choice.reason})" in str(p)
    m = tconv.plan((2, 16, 8, 8), (16, 8, 4, 4), stride=2, padding=1, measure=True)
    assert m.choice.measured and m.arrangement == m.choice.times[0][0]
    assert "measured: " + m.arrangement in str(m)
    assert tconv.plan((2, 16, 8, 8), (16, 8, 4, 4), stride=2, padding=1, method="measure") == m
    scatter = tconv.plan((2, 16, 8, 8), (16, 8, 4, 4), stride=2, padding=1, method="scatter", measure=True)
    assert scatter.arrangement is None and scatter.choice is None and "arrangement" not in str(scatter)


def test_method_measure_runs_the_measured_arrangement(monkeypatch, rng):
    g = transpose_geometry((2, 8, 6, 6), (8, 4, 3, 3), stride=2, padding=1, output_padding=1)
    forced = choice.Choice("phases", "measured", (("phases", 1.0), ("channels_first", 2.0)))
    monkeypatch.setattr(choice, "measure", lambda geometry, dtype, run, repeat=3: forced)
    ran = []
    real = gemm_numpy.conv_transpose
    monkeypatch.setattr(gemm_numpy, "conv_transpose", lambda *a, **k: ran.append(k["arrangement"]) or real(*a, **k))
    x, w = rng.standard_normal((2, 8, 6, 6)), rng.standard_normal((8, 4, 3, 3))
    y = tconv.conv_transpose(x, w, stride=2, padding=1, output_padding=1, method="measure")
    assert ran == ["phases"]
    np.testing.assert_allclose(y, readable(x, w, g), rtol=1e-12, atol=1e-10)


def test_measure_leaves_the_global_random_state_alone():
    state = np.random.get_state()[1].copy()  # noqa: NPY002 - the legacy global state is what must not move
    choice.measure(transpose_geometry((1, 4, 5, 5), (4, 2, 3, 3), stride=2), "float64", gemm_numpy.conv_transpose)
    assert (np.random.get_state()[1] == state).all()  # noqa: NPY002


def test_measure_is_refused_before_it_allocates_a_call_that_does_not_fit(monkeypatch):
    monkeypatch.setenv("TCONV_MAX_BYTES", "100000")
    monkeypatch.setattr(choice, "measure", lambda *a, **k: pytest.fail("measured a call that does not fit"))
    with pytest.raises(tconv.TConvError, match="TCONV_MAX_BYTES"):
        tconv.plan((8, 64, 32, 32), (64, 64, 4, 4), stride=2, padding=1, measure=True)
    x, w = np.ones((8, 64, 32, 32), np.float32), np.ones((64, 64, 4, 4), np.float32)
    with pytest.raises(tconv.TConvError, match="TCONV_MAX_BYTES"):
        tconv.conv_transpose(x, w, stride=2, padding=1, method="measure")


def test_measure_on_other_libraries_is_auto():
    xp = pytest.importorskip("array_api_strict")
    x, w = xp.ones((1, 4, 5, 5)), xp.ones((4, 2, 3, 3))
    y = tconv.conv_transpose(x, w, stride=2, method="measure")
    expected = tconv.conv_transpose(np.ones((1, 4, 5, 5)), np.ones((4, 2, 3, 3)), stride=2)
    np.testing.assert_allclose(np.asarray(y), expected)
