"""``--rewrite``: every ConvTranspose spelled with explicit ``pads`` (and ``output_padding``, or a ``Pad``),
no ``auto_pad``, no ``output_shape``; the copy passes ``onnx.checker`` and gives the original's
onnxruntime output — or, where onnxruntime refuses the original (or ``follow="spec"``), the spec's."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import helper  # noqa: E402

from tconv.auditor.rewrite import rewrite  # noqa: E402
from tconv.cli.main import main  # noqa: E402
from tconv.onnx import run_node  # noqa: E402
from tests.auditor.graphs import conv_transpose  # noqa: E402

#: (X shape, (C_in, C_out/g, *k), attributes): the combinations runtimes read differently, and controls.
CASES = {
    "SAME_UPPER, odd T (2-D)": ((1, 2, 4, 5), (2, 3, 3, 3), dict(strides=[2, 2], auto_pad="SAME_UPPER")),
    "SAME_LOWER, odd T": ((1, 2, 4), (2, 2, 3), dict(strides=[2], auto_pad="SAME_LOWER")),
    "SAME_UPPER with output_padding": (
        (1, 2, 4),
        (2, 2, 4),
        dict(strides=[2], auto_pad="SAME_UPPER", output_padding=[1]),
    ),
    "SAME_UPPER, k < s (T < 0)": ((1, 1, 4), (1, 1, 1), dict(strides=[2], auto_pad="SAME_UPPER")),
    "SAME_LOWER, k < s (T < 0)": ((1, 1, 4), (1, 2, 2), dict(strides=[5], auto_pad="SAME_LOWER")),
    "output_shape, odd T": ((1, 2, 4), (2, 2, 3), dict(strides=[2], output_shape=[6])),
    "output_shape with pads": (
        (1, 2, 4, 4),
        (2, 2, 3, 3),
        dict(strides=[2, 2], output_shape=[8, 8], pads=[2, 2, 0, 0]),
    ),
    "output_shape with output_padding": ((1, 2, 4), (2, 2, 3), dict(strides=[2], output_shape=[9], output_padding=[1])),
    "SAME_UPPER with output_shape past F": (
        (1, 2, 4),
        (2, 2, 3),
        dict(strides=[2], auto_pad="SAME_UPPER", output_shape=[10]),
    ),
    "output_shape far past F (onnxruntime refuses)": ((1, 2, 4), (2, 2, 3), dict(strides=[2], output_shape=[12])),
    "output_padding not below stride (onnxruntime refuses)": (
        (1, 2, 4),
        (2, 2, 2),
        dict(strides=[1], dilations=[2], output_padding=[1]),
    ),
    "explicit pads, groups (unchanged)": ((1, 4, 3, 3), (4, 1, 3, 3), dict(strides=[2, 2], pads=[1, 0, 1, 0], group=2)),
}


def _case(name, rng):
    x_shape, w_shape, attrs = CASES[name]
    w = rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[1] * attrs.get("group", 1)).astype(np.float32)
    x = rng.standard_normal(x_shape).astype(np.float32)
    return conv_transpose(list(x_shape), w, b, **attrs), x, w, b, attrs


def _ort(model, x):
    options = ort.SessionOptions()
    options.log_severity_level = 4
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"]).run(
        None, {"X": x}
    )[0]


def _spelled_explicitly(model):
    for node in model.graph.node:
        if node.op_type == "ConvTranspose":
            names = {a.name for a in node.attribute}
            assert "pads" in names and not names & {"auto_pad", "output_shape"}


@pytest.mark.parametrize("name", list(CASES))
def test_the_copy_runs_like_the_original_on_onnxruntime(name, rng):
    original, x, w, b, attrs = _case(name, rng)
    done = rewrite(original)
    onnx.checker.check_model(done.model, full_check=True)
    _spelled_explicitly(done.model)
    try:
        want = _ort(original, x)
    except Exception:  # onnxruntime refuses the original: the copy follows the spec, and runs
        want = run_node(original.graph.node[0], [x, w, b])
        assert any("onnxruntime refuses the original" in note for note in done.notes)
    got = _ort(done.model, x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    if name.endswith("(unchanged)"):
        assert done.changed == () and done.model.graph.node[0] == original.graph.node[0]
    else:
        assert done.changed == ("ct",)


@pytest.mark.parametrize("name", list(CASES))
def test_following_the_spec_gives_the_spec_on_onnxruntime(name, rng):
    original, x, w, b, attrs = _case(name, rng)
    done = rewrite(original, follow="spec")
    onnx.checker.check_model(done.model, full_check=True)
    want = run_node(original.graph.node[0], [x, w, b])
    np.testing.assert_allclose(_ort(done.model, x), want, rtol=1e-5, atol=1e-5)


def test_the_notes_say_how_a_disagreement_was_settled(rng):
    original, *_ = _case("SAME_UPPER, k < s (T < 0)", rng)
    (note,) = rewrite(original).notes
    assert note.startswith("ct: auto_pad=SAME_UPPER, strides=[2] -> pads=[0, 0]; readers differ")
    assert "onnxruntime 1" in note and "kept onnxruntime's reading" in note
    (note,) = rewrite(original, follow="spec").notes
    assert "-> pads=[0, 0], output_padding=[1]" in note and "asked to follow the spec" in note


def test_zeros_past_what_output_padding_may_add_become_a_pad_with_the_bias_after_it(rng):
    original, *_ = _case("output_shape far past F (onnxruntime refuses)", rng)
    done = rewrite(original)
    assert [n.op_type for n in done.model.graph.node] == ["ConvTranspose", "Pad", "Reshape", "Add"]


def test_on_the_command_line(tmp_path, capsys, rng):
    original, x, *_ = _case("SAME_UPPER, odd T (2-D)", rng)
    path, out = tmp_path / "m.onnx", tmp_path / "sub" / "explicit.onnx"
    onnx.save(original, str(path))
    assert main(["audit", str(path), "--rewrite", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"tconv: wrote {out} (1 ConvTranspose node(s) rewritten, following onnxruntime)" in printed
    assert "ct: auto_pad=SAME_UPPER, strides=[2, 2] -> pads=[0, 0, 1, 1]" in printed
    np.testing.assert_allclose(_ort(onnx.load(str(out)), x), _ort(original, x), rtol=1e-6)


def test_a_graph_with_other_nodes_keeps_them(rng):
    w = rng.standard_normal((1, 1, 3)).astype(np.float32)
    nodes = [
        helper.make_node("Relu", ["X"], ["R"], name="relu"),
        helper.make_node("ConvTranspose", ["R", "W"], ["Y"], name="ct", strides=[2], auto_pad="SAME_LOWER"),
    ]
    from tests.auditor.graphs import model

    done = rewrite(model(nodes, {"X": [1, 1, 5]}, {"W": w}))
    assert [n.op_type for n in done.model.graph.node] == ["Relu", "ConvTranspose"]
    x = rng.standard_normal((1, 1, 5)).astype(np.float32)
    np.testing.assert_allclose(_ort(done.model, x), _ort(model(nodes, {"X": [1, 1, 5]}, {"W": w}), x), rtol=1e-6)
