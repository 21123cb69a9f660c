"""``method="auto"`` and the cost model: every choice gives the readable methods' result.

The cost model (:mod:`tconv.methods.cost`) picks the NumPy fast path's arrangement; whatever it
picks must equal the readable definitions. Checked on random geometries (every padding spelling,
groups, dilation, 1-3-D) and on every layer of the benchmark grid, shrunk to test size (channels
and batch cut, the spatial shape and the kernel kept, so the arrangement's code paths are the
grid's own).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import tconv
from tconv.arguments import transpose_geometry
from tconv.bench.layers import GRID
from tconv.methods import cost, gemm_numpy
from tconv.methods.gemm import readable
from tests.geometries import random_cases


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_auto_equals_scatter_on_random_geometries(ndim, rng):
    for case in random_cases(3000 + ndim, 30, ndim, batches=(None, 1, 3)):
        x, w, b = case.arrays(rng, np.float64)
        y = tconv.conv_transpose(x, w, b, **case.kwargs())
        np.testing.assert_allclose(y, tconv.conv_transpose(x, w, b, **case.kwargs(), method="scatter"), atol=1e-10)


@pytest.mark.parametrize("layer", GRID, ids=[layer.name for layer in GRID])
def test_every_grid_choice_equals_readable_gemm(layer, rng):
    small = dataclasses.replace(
        layer, input_shape=(min(layer.input_shape[0], 2), min(layer.input_shape[1], 8), *layer.input_shape[2:])
    )
    x = rng.standard_normal(small.input_shape)
    w = rng.standard_normal((small.input_shape[1], min(layer.out_channels, 6), *small.weight_shape[2:]))
    g = transpose_geometry(x.shape, w.shape, small.stride, small.padding, small.output_padding)
    assert gemm_numpy.plan(g) in cost.possible(g)
    np.testing.assert_allclose(tconv.conv_transpose(x, w, **_kw(small)), readable(x, w, g), rtol=1e-12, atol=1e-10)
    # the full-size layer's own choice, run on the shrunk arrays' geometry with that arrangement
    full = transpose_geometry(layer.input_shape, layer.weight_shape, layer.stride, layer.padding, layer.output_padding)
    how = gemm_numpy.plan(full)
    assert how in cost.possible(g)
    y = gemm_numpy.conv_transpose(x, w, g, arrangement=how)
    np.testing.assert_allclose(y, readable(x, w, g), rtol=1e-12, atol=1e-10)


def _kw(layer):
    return dict(stride=layer.stride, padding=layer.padding, output_padding=layer.output_padding)


def test_cost_model_predicts_every_possible_arrangement():
    g = transpose_geometry((2, 16, 8, 8), (16, 8, 2, 2), stride=2)
    assert set(cost.predict(g)) == set(cost.ARRANGEMENTS)  # k == s: the reshape too
    g = transpose_geometry((2, 16, 8, 8), (16, 8, 4, 4), stride=2, padding=1)
    predicted = cost.predict(g)
    assert set(predicted) == {"channels_first", "channels_last", "separable", "phases"}
    assert all(t > 0 for t in predicted.values())
    assert gemm_numpy.plan(g) == min(predicted, key=predicted.__getitem__)
    # a column buffer over one tile: no separable (its products grow with O_a, not with k_a)
    g = transpose_geometry((16, 64, 32, 32), (64, 64, 4, 4), stride=2, padding=1)
    assert set(cost.predict(g)) == {"channels_first", "channels_last", "phases"}


def test_plan_shows_the_arrangement_and_the_verdict():
    p = tconv.plan((8, 64, 32, 32), (64, 64, 4, 4), stride=2, padding=1)
    assert p.method == "gemm" and p.arrangement == p.predicted[0][0]
    assert [t for _, t in p.predicted] == sorted(t for _, t in p.predicted)
    text = str(p)
    assert f"arrangement:   {p.arrangement}" in text and "cost model" in text
    assert tconv.plan((8, 64, 32, 32), (64, 64, 4, 4), stride=2, padding=1, method="scatter").predicted == ()


def test_features_grow_with_the_work():
    small = transpose_geometry((1, 64, 16, 16), (64, 64, 4, 4), stride=2, padding=1)
    large = transpose_geometry((4, 64, 16, 16), (64, 64, 4, 4), stride=2, padding=1)
    for a in cost.possible(small):
        f, F = cost.features(small, a), cost.features(large, a)
        assert F.flops == pytest.approx(4 * f.flops) and F.bytes > f.bytes and F.seconds() > f.seconds()
