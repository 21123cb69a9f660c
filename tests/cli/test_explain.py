"""The explainer's data: every step's numbers, checked against the core, against PyTorch, and by hand.

The steps are the explainer's content; the renderers only lay them out. So the properties that make
the explanation *true* are tested here: each step's own sum equals the core's result, the scatter
stamps sit at ``position × stride``, zero insertion uses the flipped kernel, ``Cᵀx`` is the output,
every phase's values are the output's, and ``conv(result)`` is ``C Cᵀ x``.
"""

import json

import numpy as np
import pytest

import tconv
from tconv.errors import TConvError
from tconv.examples import EXAMPLES
from tconv.explainer import explain
from tconv.explainer.parse import parse_matrix, parse_padding, parse_per_axis

NON_SYMMETRIC = [name for name, ex in EXAMPLES.items() if not np.array_equal(np.flip(ex.kernel), ex.kernel)]


def _explain(ex, **kw):
    return explain(ex.input, ex.kernel, ex.stride, ex.padding, ex.output_padding, ex.dilation, **kw)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_step_agrees_with_the_core(name):
    ex = EXAMPLES[name]
    e = _explain(ex, torch_check=False)
    x, w = np.array(ex.input), np.array(ex.kernel)
    want = tconv.conv_transpose(
        x[None, None],
        w[None, None],
        stride=ex.stride,
        padding=ex.padding,
        output_padding=ex.output_padding,
        dilation=ex.dilation,
    )[0, 0]
    np.testing.assert_array_equal(e.output, want)
    assert e.step("result").agree
    np.testing.assert_array_equal(e.step("scatter").output, want)
    np.testing.assert_array_equal(e.step("zero_insert").output, want)
    np.testing.assert_array_equal(e.step("matrix").Ct_x, want.ravel())
    assert e.step("shape").axes[0].numbers.endswith(f"= {want.shape[0]}")
    for p in e.step("polyphase").phases:
        sel = tuple(slice(a, None, s) for a, s in zip(p.first, e.geometry.stride))
        np.testing.assert_array_equal(p.values, want[sel])


def test_scatter_stamps_are_value_times_kernel_at_position_times_stride():
    e = explain([[1, 2], [3, 4]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]], stride=(2, 3), torch_check=False)
    stamps = e.step("scatter").stamps
    assert [s.at for s in stamps] == [[0, 0], [0, 3], [2, 0], [2, 3]]
    for s in stamps:
        np.testing.assert_array_equal(s.stamp, s.value * e.kernel)
    np.testing.assert_array_equal(stamps[-1].sum, e.step("scatter").full)


def test_zero_insertion_flips_the_kernel_and_the_unflipped_answer_is_wrong():
    e = explain([1, 2, 3], [1, 10, 100], stride=2, torch_check=False)
    d = e.step("zero_insert")
    assert d.flipped.tolist() == [100, 10, 1] and not d.symmetric
    assert d.stretched.tolist() == [1, 0, 2, 0, 3]
    assert d.padded.tolist() == [0, 0, 1, 0, 2, 0, 3, 0, 0] and d.pad_before == [2] == d.pad_after
    third = d.windows[2]  # y[2] = P[2:5] · flip(w) = 1·100 + 0·10 + 2·1
    assert third.out == [2] and third.patch.tolist() == [1, 0, 2] and third.sum == 102
    assert not np.array_equal(d.unflipped_output, e.output)
    # The learner's kernel is symmetric under the flip: the trap is invisible there, and the text says so.
    assert explain([[2, 2], [0, 2]], [[1, 0], [0, 1]], torch_check=False).step("zero_insert").symmetric


def test_padding_crops_the_full_output():
    e = explain([[1, 2], [3, 4]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]], stride=2, padding=1, torch_check=False)
    d = e.step("scatter")
    assert d.full.shape == (5, 5) and e.output.shape == (3, 3)
    np.testing.assert_array_equal(e.output, d.full[1:4, 1:4])
    assert "crops" in " ".join(e.step("shape").notes)


def test_same_with_k_eff_below_stride_appends_zeros():
    e = explain([1, 2], [5], stride=3, padding="same", torch_check=False)
    assert e.output.tolist() == [5, 0, 0, 10, 0, 0]
    assert e.step("shape").axes[0].end == -2


def test_adjoint_is_c_ct_x_and_the_orthonormal_example_inverts():
    e = explain(
        [[1, 2], [3, 4]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]], stride=2, padding=1, output_padding=1, torch_check=False
    )
    d = e.step("adjoint")
    np.testing.assert_array_equal(d.conv_of_output.ravel(), d.CCt @ e.input.ravel())
    assert not d.equal and not d.identity and d.overlap
    assert d.orthonormal_example.equal
    np.testing.assert_allclose(d.orthonormal_example.conv_back, e.input)


def test_adjoint_equals_input_for_an_orthonormal_geometry():
    e = explain([1.0, -2.0, 3.0], [0.6, 0.8], stride=2, torch_check=False)
    d = e.step("adjoint")
    assert d.equal and d.identity


@pytest.mark.parametrize("method", tconv.METHODS)
def test_one_method_shows_its_own_step(method):
    e = explain([[1, 2], [3, 4]], [[1, 2], [3, 5]], stride=2, method=method, torch_check=False)
    assert [s.kind for s in e.steps] == ["shape", method, "result", "adjoint"]


def test_limit_keeps_the_first_stamps_and_counts_the_rest():
    x = np.arange(30).reshape(5, 6)
    e = explain(x, [[1, -1], [2, 0]], stride=2, limit=4, torch_check=False)
    d = e.step("scatter")
    assert len(d.stamps) == 4 and d.more == 26
    assert len(e.step("zero_insert").windows) == 4
    assert e.step("result").agree


def test_big_matrices_are_not_written_out():
    e = explain(np.ones((20, 20), dtype=int), np.ones((3, 3), dtype=int), stride=2, torch_check=False)
    assert e.step("matrix").C is None and e.step("adjoint").CCt is None
    with pytest.raises(TConvError, match="at most"):
        explain(np.ones((300, 300)), [[1]], torch_check=False)


@pytest.mark.parametrize("name", NON_SYMMETRIC)
def test_json_output_matches_torch(name):
    torch = pytest.importorskip("torch")
    ex = EXAMPLES[name]
    d = json.loads(_explain(ex, torch_check=True).to_json())
    x = torch.tensor(ex.input, dtype=torch.float64)[None, None]
    w = torch.tensor(ex.kernel, dtype=torch.float64)[None, None]
    fn = {1: torch.nn.functional.conv_transpose1d, 2: torch.nn.functional.conv_transpose2d}[x.dim() - 2]
    if isinstance(ex.padding, str):  # PyTorch has no "same" for conv_transpose: crop its full output
        full = fn(x, w, stride=ex.stride, dilation=ex.dilation)[0, 0].numpy()
        g = d["geometry"]
        want = full[tuple(slice(b, b + o) for b, o in zip(g["begin"], g["output"]))]
    else:
        want = fn(x, w, stride=ex.stride, padding=ex.padding, output_padding=ex.output_padding, dilation=ex.dilation)[
            0, 0
        ].numpy()
    assert d["output"] == want.astype(int).tolist()
    assert d["output_shape"] == list(want.shape)
    t = d["steps"]["result"]["torch"]
    assert t["available"] and t["equal"] and t["version"] == torch.__version__
    assert set(d["steps"]) == {"shape", "scatter", "zero_insert", "matrix", "gemm", "polyphase", "result", "adjoint"}
    assert "version" in t and "reason" not in t  # fields that do not apply are left out


def test_torch_check_reports_a_missing_torch(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    d = explain([1, 2], [1, 3], torch_check=True).step("result").torch
    assert not d.available and d.reason == "not installed, so not checked against it (pip install 'tconv[torch]')"


# ---- parsing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, want",
    [
        ("2 2; 0 2", [[2, 2], [0, 2]]),
        ("1,2,3", [1, 2, 3]),
        (" 1  2 ;3 4;", [[1, 2], [3, 4]]),
        ("-1.5 2e1", [-1.5, 20.0]),
    ],
)
def test_parse_matrix(text, want):
    assert parse_matrix(text).tolist() == want


@pytest.mark.parametrize(
    "text, message",
    [("1 2; 3", "ragged"), ("1 x", "'x' is not a number"), ("", "empty"), (" ; ", "empty"), ("1 nan", "finite")],
)
def test_parse_matrix_errors(text, message):
    with pytest.raises(TConvError, match=message):
        parse_matrix(text, "--input")


def test_parse_arguments():
    assert parse_per_axis("2", "--stride") == 2 and parse_per_axis("2,1", "--stride") == (2, 1)
    assert parse_padding("1:0,2:2") == ((1, 0), (2, 2)) and parse_padding("VALID") == "valid"
    with pytest.raises(TConvError, match="--stride"):
        parse_per_axis("two", "--stride")
    with pytest.raises(TConvError, match="begin:end"):
        parse_padding("1:2:3")


@pytest.mark.parametrize(
    "args",
    [
        dict(stride=3, padding="same"),
        dict(stride=2, padding=((0, 1),), output_padding=1),
        dict(stride=1, dilation=2, output_padding=1),
        dict(stride=2, padding=1),
    ],
)
def test_adjoint_is_c_ct_x_for_crops_and_appended_zeros(args):
    e = explain([1, -2, 3, 5], [1, 2], torch_check=False, **args)
    d = e.step("adjoint")
    np.testing.assert_array_equal(d.conv_of_output, d.CCt @ e.input)
