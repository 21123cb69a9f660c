"""``tconv.plan``: what a call will do — the geometry, the method and why, the memory — before it does it.

The plan is not a prediction beside the computation but the computation's own first step:
``conv_transpose`` runs the method its plan names and refuses what its plan refuses.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tconv
from tconv import methods
from tests.geometries import cases

SEEDS = st.integers(0, 2**32 - 1)


@settings(max_examples=60, deadline=None)
@given(case=cases(), method=st.sampled_from(("auto", *tconv.METHODS)))
def test_the_plan_is_the_checked_geometry_of_the_call(case, method):
    p = tconv.plan(case.x_shape, case.weight_shape, **case.kwargs(), method=method)
    assert p.geometry == tconv.transpose_geometry(case.x_shape, case.weight_shape, **case.kwargs())
    assert p.output_shape == case.out_shape
    assert p.method in tconv.METHODS and (p.reason == "given") == (method != "auto")
    assert p.output_bytes == int(np.prod(case.out_shape)) * 4  # float32 by default


@settings(max_examples=60, deadline=None)
@given(case=cases(), seed=SEEDS)
def test_auto_runs_the_planned_method_and_equals_the_definition(case, seed):
    """``method="auto"`` runs exactly the method its plan names, and equals ``scatter`` (the definition)."""
    x, w, b = case.arrays(np.random.default_rng(seed), np.int64)
    with mock.patch.object(methods, "run", wraps=methods.run) as run:
        y = tconv.conv_transpose(x, w, b, **case.kwargs())
    planned = tconv.plan(case.x_shape, case.weight_shape, **case.kwargs(), dtype="int64").method
    ran = [call.args[0] for call in run.call_args_list]
    assert ran == ([planned] if x.size else [])  # an empty batch computes nothing
    np.testing.assert_array_equal(y, tconv.conv_transpose(x, w, b, **case.kwargs(), method="scatter"))


def test_the_report_names_every_part():
    report = str(tconv.plan((8, 16, 32, 32), (16, 8, 4, 4), stride=2, padding=1))
    for part in ("conv_transpose: (8, 16, 32, 32) -> (8, 8, 64, 64)", "method:", "arrangement:", "multiply-adds:"):
        assert part in report
    assert "16,777,216" in report  # 8·16·8·32·32·16 multiply-adds
    assert "memory guard:  fits" in report


@pytest.mark.parametrize("method", tconv.METHODS)
def test_the_memory_guard_refuses_what_the_plan_refuses(method, monkeypatch):
    monkeypatch.setenv("TCONV_MAX_BYTES", "100000")
    p = tconv.plan((1, 4, 64, 64), (4, 4, 3, 3), stride=2, method=method)
    assert not p.fits and "REFUSED" in str(p)
    refusal = r"conv_transpose to shape \(1, 4, 129, 129\) with method='\w+' would need [\d,]+ bytes .* TCONV_MAX_BYTES"
    with pytest.raises(tconv.TConvError, match=refusal):
        tconv.conv_transpose(
            np.ones((1, 4, 64, 64), np.float32), np.ones((4, 4, 3, 3), np.float32), stride=2, method=method
        )
    monkeypatch.setenv("TCONV_MAX_BYTES", str(p.output_bytes + p.workspace_bytes))
    assert tconv.plan((1, 4, 64, 64), (4, 4, 3, 3), stride=2, method=method).fits


def test_bad_arguments_are_refused_when_planning():
    with pytest.raises(tconv.TConvError, match="method='fast' is not one of"):
        tconv.plan((1, 1, 4), (1, 1, 3), method="fast")
    with pytest.raises(tconv.TConvError, match="output_padding"):
        tconv.plan((1, 1, 4), (1, 1, 3), stride=2, output_padding=2)


@pytest.mark.parametrize("mode", ["zeros", "circular", "reflect", "replicate"])
def test_plan_takes_every_argument_of_the_call(mode):
    """``plan`` takes what ``conv_transpose`` takes (a padding mode, a bias), with shapes for arrays:
    its output shape is the call's, and it computes the uncropped geometry a padding mode folds."""
    x, w, b = np.ones((2, 4, 6, 5)), np.ones((4, 3, 3, 3)), np.ones(3)
    kwargs = dict(stride=2, padding=1, output_padding=1, padding_mode=mode)
    p = tconv.plan(x.shape, w.shape, **kwargs, bias_shape=b.shape, dtype="float64")
    assert p.output_shape == tconv.conv_transpose(x, w, b, **kwargs).shape
    assert p.padding_mode == mode and (p.computed == p.geometry) == (mode == "zeros")
    assert (f"padding mode:  {mode}" in str(p)) == (mode != "zeros")


def test_plan_refuses_what_the_call_refuses():
    with pytest.raises(tconv.TConvError, match="padding_mode='mirror' must be one of"):
        tconv.plan((1, 1, 4), (1, 1, 3), padding_mode="mirror")
    with pytest.raises(tconv.TConvError, match="padding_mode='reflect' needs padding smaller"):
        tconv.plan((1, 1, 2), (1, 1, 3), stride=2, padding=2, padding_mode="reflect")
    with pytest.raises(tconv.TConvError, match="bias"):
        tconv.plan((1, 1, 4), (1, 2, 3), bias_shape=(3,))
