"""``tconv.explain`` takes the shapes a user has at hand, says the rule when it cannot, and is short
in a ``repr``.

The kernel's axes say the form: 1-D or 2-D, one channel, with an input of as many axes; 3-D or 4-D,
PyTorch's weight ``(C_in, C_out/groups, *k)`` of a 1-D or 2-D layer, with the input ``(C_in,
*spatial)`` or, as :func:`tconv.conv_transpose` takes it, ``(1, C_in, *spatial)``.
"""

import numpy as np
import pytest

import tconv
from tconv.errors import TConvError
from tconv.explainer import explain

RULE = (
    "explain takes one channel: input (W) with kernel (kW), or (H, W) with (kH, kW); a layer: input (C_in, W) "
    "or (1, C_in, W) with kernel (C_in, C_out/groups, kW), or (C_in, H, W) or (1, C_in, H, W) with kernel "
    "(C_in, C_out/groups, kH, kW)"
)

#: input shape, kernel shape, and the axes to add to both for tconv.conv_transpose's (N, C, *spatial).
ACCEPTED = {
    "(W) with (kW)": ((5,), (3,), (None, None), (None, None)),
    "(H, W) with (kH, kW)": ((3, 4), (2, 3), (None, None), (None, None)),
    "(C_in, W) with (C_in, C_out, kW)": ((2, 5), (2, 3, 3), (None,), ()),
    "(1, C_in, W) with (C_in, C_out, kW)": ((1, 2, 5), (2, 3, 3), (), ()),
    "(C_in, H, W) with (C_in, C_out, kH, kW)": ((2, 3, 4), (2, 1, 2, 3), (None,), ()),
    "(1, C_in, H, W) with (C_in, C_out, kH, kW)": ((1, 2, 3, 4), (2, 1, 2, 3), (), ()),
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_explain_takes_one_channel_a_layer_and_a_batch_of_one(name):
    x_shape, w_shape, x_axes, w_axes = ACCEPTED[name]
    rng = np.random.default_rng(len(name))
    x, w = rng.integers(-3, 4, x_shape), rng.integers(-3, 4, w_shape)
    e = explain(x, w, stride=2, padding=1, output_padding=1)
    want = tconv.conv_transpose(x[x_axes], w[w_axes], stride=2, padding=1, output_padding=1)
    want = want.reshape(want.shape[len(want.shape) - e.output.ndim :])  # drop the axes the input lacked
    np.testing.assert_array_equal(e.output, want)  # in the input's own layout
    assert e.step("result").agree
    str(e)  # the text renders every form


def test_the_readmes_batch_of_one_is_explained():
    x = np.arange(4.0).reshape(1, 1, 2, 2)  # (N, C_in, H, W)
    w = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])  # (C_in, C_out/groups, kH, kW)
    e = tconv.explain(x, w, stride=2)
    np.testing.assert_array_equal(e.output, tconv.conv_transpose(x, w, stride=2))
    assert e.batched and e.layer_input.shape == (1, 2, 2) and e.layer_output.shape == (1, 4, 4)
    assert "a batch of one" in str(e)


@pytest.mark.parametrize(
    "x_shape, w_shape, message",
    [
        ((2,), (2, 2), "input has shape (2,) and kernel (2, 2); " + RULE),
        ((2, 2), (2,), "input has shape (2, 2) and kernel (2,); " + RULE),
        ((2, 2, 2), (2, 1, 2, 2, 2), "kernel has shape (2, 1, 2, 2, 2) (5-D); " + RULE),
        ((2, 2), (2, 1, 2, 2), "input has shape (2, 2) and kernel (2, 1, 2, 2) (the weight of a 2-D layer); " + RULE),
        (
            (1, 1, 1, 2, 2),
            (1, 1, 2, 2),
            "input has shape (1, 1, 1, 2, 2) and kernel (1, 1, 2, 2) (the weight of a 2-D layer); " + RULE,
        ),
        (
            (2, 1, 3, 3),
            (1, 1, 2, 2),
            "a batch of 2, and explain shows one image; give input (1, C_in, H, W) or (C_in, H, W)",
        ),
        ((3, 2, 4), (2, 1, 3), "a batch of 3, and explain shows one image; give input (1, C_in, W) or (C_in, W)"),
        ((0, 2), (2, 2), "input is empty (shape (0, 2)); " + RULE),
        ((2,), (), "kernel has shape () (0-D); " + RULE),
    ],
)
def test_other_shapes_are_refused_with_the_rule(x_shape, w_shape, message):
    with pytest.raises(TConvError) as exc:
        explain(np.ones(x_shape), np.ones(w_shape))
    assert message in str(exc.value)


def test_groups_need_a_layer():
    with pytest.raises(TConvError, match=r"groups=2 needs a layer: input \(C_in, \*spatial\)"):
        explain([1, 2], [1, 1], groups=2)


@pytest.mark.parametrize(
    "x, w, kw, want",
    [
        (
            [1, 2],
            [1, 10, 100],
            dict(stride=2),
            "Explanation(input (2), kernel (3), stride 2, padding 0, output_padding 0, dilation 1 -> output (5); "
            "print() shows the steps)",
        ),
        (
            np.ones((1, 1, 2, 2)),
            np.ones((1, 3, 2, 2)),
            dict(stride=2, padding="same", method="gemm"),
            "Explanation(input (1, 1, 2, 2), kernel (1, 3, 2, 2), stride 2, padding same, output_padding 0, "
            "dilation 1, groups 1, method gemm -> output (1, 3, 4, 4); print() shows the steps)",
        ),
    ],
)
def test_repr_is_one_line_and_print_shows_the_steps(x, w, kw, want):
    e = explain(x, w, **kw)
    assert repr(e) == want
    assert str(e).startswith("tconv explain: conv_transpose of x") and str(e).count("\n") > 10
    assert "tconvExplain.mount" in e._repr_html_()


def test_the_pytorch_call_is_spelled_without_running_it_by_default():
    args = dict(stride=2, padding=((0, 1), (1, 0)))
    t = explain([[1, 2], [3, 4]], [[1, 0], [0, 1]], **args).step("result").torch
    assert not t.available and t.reason.startswith("not run (tconv explain --torch")
    assert t.call == (
        "conv_transpose2d(x, w, stride=2, padding=(0, 1), output_padding=(0, 1), dilation=1) "
        "cropped to [0, +3) (PyTorch has no same/per-side padding)"
    )
    pytest.importorskip("torch")
    ran = explain([[1, 2], [3, 4]], [[1, 0], [0, 1]], torch_check=True, **args).step("result").torch
    assert ran.available and ran.equal and ran.call == t.call  # the call shown is the one that runs
