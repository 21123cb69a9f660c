"""``tconv.audit(path_or_model)`` and ``tconv audit MODEL.onnx``: what is listed, what is skipped and why,
how runtimes read ambiguous attributes, and every bad input as one line and exit status 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnx import helper  # noqa: E402

import tconv  # noqa: E402
from tconv.auditor.examples import ambiguous_model  # noqa: E402
from tconv.auditor.phases import constant_response_imbalance, subpixel_imbalance  # noqa: E402
from tconv.cli.main import main  # noqa: E402
from tests.auditor.graphs import conv_transpose, model  # noqa: E402


def test_the_ambiguous_example_names_what_runtimes_read_differently():
    a = tconv.audit(ambiguous_model())
    same_upper, shape_and_pads, k1 = a.layers
    assert same_upper.crop == ((0, 1), (0, 1)) and same_upper.output_shape == (1, 2, 8, 8)
    assert any("T = 1 is odd" in note and "onnxruntime before 1.13" in note for note in same_upper.ambiguous)
    assert shape_and_pads.crop == ((1, 0), (1, 0))  # the pads [0, 0, 1, 1] are ignored
    assert any(note.startswith("onnx.reference") and "0:1, 0:1" in note for note in shape_and_pads.ambiguous)
    assert k1.verdict == "holes" and k1.crop == ((0, -1), (0, -1)) and k1.output_shape == (1, 1, 32, 32)
    if pytest.importorskip("onnxruntime"):
        assert any(note.startswith("onnxruntime") and "output [31, 31]" in note for note in k1.ambiguous)


def test_explicit_pads_are_not_ambiguous(rng):
    w = rng.standard_normal((2, 3, 4, 4))
    layer = tconv.audit(conv_transpose([1, 2, 5, 5], w, strides=[2, 2], pads=[1, 1, 1, 1])).layers[0]
    assert layer.ambiguous == () and layer.output_shape == (1, 3, 10, 10)
    assert layer.constant_response_imbalance == pytest.approx(constant_response_imbalance(w, (2, 2)), rel=1e-6)


@pytest.mark.parametrize("mode", ["DCR", "CRD"])
def test_depth_to_space_is_audited_with_the_convolution_that_feeds_it(mode, rng):
    w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["X", "W"], ["Z"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("DepthToSpace", ["Z"], ["Y"], name="d2s", blocksize=2, mode=mode),
    ]
    layer = tconv.audit(model(nodes, {"X": [1, 3, 4, 4]}, {"W": w})).layers[0]
    assert (layer.op, layer.feeds_from, layer.mode, layer.stride) == ("DepthToSpace", "conv", mode, (2, 2))
    assert layer.output_shape == (1, 2, 8, 8)
    assert layer.constant_response_imbalance == pytest.approx(subpixel_imbalance(w, (2, 2), mode), rel=1e-6)


def test_resize_is_listed_and_a_down_sampling_resize_is_skipped():
    nodes = [
        helper.make_node("Resize", ["X", "", "up"], ["Z"], name="up", mode="linear"),
        helper.make_node("Resize", ["Z", "", "down"], ["Y"], name="down"),
    ]
    inits = {"up": np.array([1, 1, 2, 3], np.float32), "down": np.array([1, 1, 0.5, 0.5], np.float32)}
    a = tconv.audit(model(nodes, {"X": [1, 1, 4, 4]}, inits))
    (layer,) = a.layers
    assert (layer.op, layer.stride, layer.scale, layer.mode, layer.constant_response_imbalance) == (
        "Resize",
        (2, 3),
        (2.0, 3.0),
        "linear",
        0.0,
    )
    assert "kernel" not in layer.to_dict()  # a field that does not apply is left out
    assert [(s.name, s.reason) for s in a.skipped] == [("down", "it does not up-sample (no axis grows)")]


def test_weights_computed_from_constants_are_evaluated_and_from_inputs_skipped(rng):
    v = rng.standard_normal((2, 2, 4)).astype(np.float32)
    nodes = [
        helper.make_node("Mul", ["V", "G"], ["W"], name="weight_norm"),
        helper.make_node("ConvTranspose", ["X", "W"], ["A"], name="computed", strides=[2], pads=[1, 1]),
        helper.make_node("ConvTranspose", ["A", "U"], ["Y"], name="fed", strides=[2]),
    ]
    m = model(nodes, {"X": [1, 2, 6], "U": [2, 2, 4]}, {"V": v, "G": np.float32(0.5)})
    a = tconv.audit(m)
    computed, fed = a.layers
    assert computed.constant_response_imbalance == pytest.approx(constant_response_imbalance(v, (2,)), rel=1e-6)
    assert (fed.name, fed.output_shape, fed.taps_per_phase, fed.constant_response_imbalance) == (
        "fed",
        (1, 2, 26),
        ((2, 2),),
        None,
    )
    assert fed.verdict == "not measured" and fed.to_dict()["constant_response_imbalance"] is None
    assert "computed from the graph's inputs" in fed.advice and a.skipped == ()


def test_subgraphs_and_other_domains_are_skipped(rng):
    w = rng.standard_normal((1, 1, 2)).astype(np.float32)
    inner = helper.make_graph(
        [helper.make_node("ConvTranspose", ["X", "W"], ["Z"], name="inside", strides=[2])],
        "branch",
        [],
        [helper.make_tensor_value_info("Z", onnx.TensorProto.FLOAT, None)],
    )
    other = helper.make_graph(
        [helper.make_node("Identity", ["X"], ["Z"])],
        "other",
        [],
        [helper.make_tensor_value_info("Z", onnx.TensorProto.FLOAT, None)],
    )
    nodes = [
        helper.make_node("If", ["C"], ["Y"], name="branching", then_branch=inner, else_branch=other),
        helper.make_node("ConvTranspose", ["X", "W"], ["Q"], name="custom", domain="com.example"),
    ]
    m = model(nodes, {"X": [1, 1, 3]}, {"W": w, "C": np.array(True)}, outputs=("Y", "Q"))
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    a = tconv.audit(m)
    assert a.layers == ()
    assert [(s.name, s.op, s.reason) for s in a.skipped] == [
        ("inside", "ConvTranspose", "inside a subgraph of If node 'branching'"),
        ("custom", "com.example.ConvTranspose", "not the standard ONNX operator"),
    ]


def test_a_symbolic_batch_is_kept_and_symbolic_sizes_need_input_shapes(rng):
    w = rng.standard_normal((2, 2, 3, 3))
    layer = tconv.audit(conv_transpose(["N", 2, 4, 4], w, strides=[2, 2], pads=[1, 1, 1, 1])).layers[0]
    assert layer.input_shape == ("N", 2, 4, 4) and layer.output_shape == ("N", 2, 7, 7)
    dynamic = conv_transpose(["N", 2, "H", "W"], w, strides=[2, 2], pads=[1, 1, 1, 1])
    with pytest.raises(tconv.TConvError, match=r"shape of its input 'X' is unknown .* give --input-shape"):
        tconv.audit(dynamic)
    assert tconv.audit(dynamic, input_shapes={None: (3, 2, 5, 6)}).layers[0].output_shape == (3, 2, 9, 11)
    assert tconv.audit(dynamic, input_shapes={"X": (1, 2, 4, 4)}).layers[0].output_shape == (1, 2, 7, 7)


def _save(m, path):
    onnx.save(m, str(path))
    return str(path)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["missing.onnx"], "MODEL 'missing.onnx': no such file"),
        (["{text}"], "is not an ONNX model"),
        (["{dynamic}"], "the shape of its input 'X' is unknown"),
        (["{opset9}"], "opset 9: tconv audit reads ai.onnx opsets 11 to"),
        (["{opset99}"], "opset 99: tconv audit reads ai.onnx opsets 11 to"),
        (["{dynamic}", "--input-shape", "1,2,x"], "--input-shape '1,2,x' must be sizes like 1,3,64,64"),
        (["{dynamic}", "--input-shape", "Q=1,2,4,4"], "the graph has no input 'Q'"),
        (["{dynamic}", "--input-shape", "1,2,4"], "graph input 'X' has 4 dimensions"),
        (["{dynamic}", "--follow", "spec"], "--follow applies to --rewrite only"),
        ([], "give MODEL.onnx"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_input_is_one_line_and_exit_status_2(argv, message, tmp_path, capsys, rng):
    text = tmp_path / "notes.onnx"
    text.write_text("this is not a protobuf\n" * 3)
    w = rng.standard_normal((2, 2, 3, 3))
    files = {
        "text": str(text),
        "dynamic": _save(conv_transpose(["N", 2, "H", "W"], w, strides=[2, 2]), tmp_path / "dynamic.onnx"),
        "opset9": _save(model([], {"X": [1]}, opset=9, outputs=("X",)), tmp_path / "old.onnx"),
        "opset99": _save(model([], {"X": [1]}, opset=99, outputs=("X",)), tmp_path / "new.onnx"),
    }
    assert main(["audit", *(a.format(**files) for a in argv)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tconv: error: ") and message in err
    assert "Traceback" not in err


def test_json_on_the_command_line(tmp_path, capsys):
    path = _save(ambiguous_model(), tmp_path / "a.onnx")
    assert main(["audit", path, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"model", "source", "opset", "layers", "skipped", "notes"}
    assert (document["model"], document["source"], document["opset"]) == (path, "onnx", 18)
    first = document["layers"][0]
    assert first["op"] == "ConvTranspose" and first["taps_per_phase"] == [[2, 1], [2, 1]]
    assert first["crop"] == [[0, 1], [0, 1]] and first["uneven_overlap"] is True
    assert isinstance(first["ambiguous"], list) and isinstance(first["advice"], str)
