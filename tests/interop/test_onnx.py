"""tconv.onnx against ONNX's own test vectors, onnxruntime, and the places where ONNX's three voices differ.

The three voices are the spec text (``onnx.defs.get_schema("ConvTranspose").doc``), the reference
implementation ``onnx.reference`` and onnxruntime. ``test_disagreement`` pins down, case by case,
what each of them does where they differ (the table in the README, section Interop).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tconv.onnx as tonnx
from tconv import TConvError

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

OFFICIAL = [
    "test_convtranspose",
    "test_convtranspose_1d",
    "test_convtranspose_3d",
    "test_convtranspose_pads",
    "test_convtranspose_output_shape",
    "test_convtranspose_pad",
    "test_convtranspose_kernel_shape",
    "test_convtranspose_dilations",
    "test_convtranspose_autopad_same",
    "test_convtranspose_group_2",
    "test_convtranspose_group_2_image_3",
]

_official_cache: dict = {}


def official_cases() -> dict:
    """The official node tests, captured by replacing ``expect`` in ONNX's test-case module.

    (The ``test_convtranspose*`` data folders are not shipped in the wheel; the generator is.)
    """
    if not _official_cache:
        from onnx.backend.test.case.node import convtranspose as cases

        def capture(node, inputs, outputs, name, **kwargs):
            _official_cache[name] = (node, inputs, outputs)

        original = cases.expect
        cases.expect = capture
        try:
            for attr in dir(cases.ConvTranspose):
                if attr.startswith("export"):
                    getattr(cases.ConvTranspose, attr)()
        finally:
            cases.expect = original
    return _official_cache


@pytest.mark.parametrize("name", OFFICIAL)
def test_official_node_vectors(name):
    node, inputs, (expected,) = official_cases()[name]
    got = tonnx.run_node(node, inputs)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_all_official_vectors_are_covered():
    assert sorted(official_cases()) == sorted(OFFICIAL)


# ---- onnxruntime on random attribute sets ------------------------------------------------------


def _model(attrs: dict, with_bias: bool):
    names = ["X", "W", "B"] if with_bias else ["X", "W"]
    node = helper.make_node("ConvTranspose", names, ["Y"], **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in names],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_operatorsetid("", 22)])


def _ort(attrs, feeds):
    ort = pytest.importorskip("onnxruntime")
    ort.set_default_logger_severity(4)
    model = _model(attrs, "B" in feeds)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


def _reference(attrs, feeds):
    from onnx.reference import ReferenceEvaluator

    return ReferenceEvaluator(_model(attrs, "B" in feeds)).run(None, feeds)[0]


def random_attribute_set(rng):
    """One random ConvTranspose in the domain where spec, onnxruntime and tconv agree.

    That domain: ``output_padding < stride`` (onnxruntime refuses ``stride ≤ op < dilation``); for
    SAME_* a total crop ``T = k_eff − s + op ≥ 0``; ``output_shape`` at most ``F + s − 1`` (beyond,
    onnxruntime refuses; from ``F + op + 1`` on zeros are appended, bias included).
    """
    n = int(rng.integers(1, 4))
    group = int(rng.integers(1, 3))
    c_in, c_out_g = group * int(rng.integers(1, 3)), int(rng.integers(1, 3))
    i, k = rng.integers(1, 6, n), rng.integers(1, 5, n)
    s, d = rng.integers(1, 4, n), rng.integers(1, 3, n)
    op = np.where(rng.random(n) < 0.4, rng.integers(0, 3, n) % s, 0)
    full = (i - 1) * s + d * (k - 1) + 1
    attrs = {"strides": s.tolist(), "dilations": d.tolist(), "group": group}
    if op.any():
        attrs["output_padding"] = op.tolist()
    mode = rng.choice(["pads", "SAME_UPPER", "SAME_LOWER", "output_shape", "VALID"])
    if mode == "pads":
        b = [int(rng.integers(0, f)) for f in full]
        e = [int(rng.integers(0, f + p - bb)) for f, p, bb in zip(full, op, b)]
        attrs["pads"] = b + e
    elif mode == "output_shape":
        attrs["output_shape"] = [int(rng.integers(max(1, f + p - 5), f + ss)) for f, p, ss in zip(full, op, s)]
    else:
        attrs["auto_pad"] = str(mode)
        if mode.startswith("SAME"):  # T = k_eff − s + op ≥ 0: else SAME is a documented disagreement
            keff = d * (k - 1) + 1
            attrs["strides"] = np.minimum(s, keff + op).tolist()
            attrs["output_padding"] = [int(p) % sm if sm > 1 else 0 for p, sm in zip(op, attrs["strides"])]
    x = rng.standard_normal((2, c_in, *i)).astype(np.float32)
    w = rng.standard_normal((c_in, c_out_g, *k)).astype(np.float32)
    feeds = {"X": x, "W": w}
    if rng.random() < 0.5:
        feeds["B"] = rng.standard_normal(c_out_g * group).astype(np.float32)
    return attrs, feeds


N_RANDOM = 150


def test_random_attribute_sets_match_onnxruntime():
    rng = np.random.default_rng(2024)
    worst, modes = 0.0, set()
    for _ in range(N_RANDOM):
        attrs, feeds = random_attribute_set(rng)
        expected = _ort(attrs, feeds)
        got = tonnx.conv_transpose(feeds["X"], feeds["W"], feeds.get("B"), **attrs)
        assert got.shape == expected.shape, attrs
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4, err_msg=str(attrs))
        worst = max(worst, float(np.abs(got - expected).max()))
        modes.add(attrs.get("auto_pad", "output_shape" if "output_shape" in attrs else "pads"))
    assert modes == {"pads", "SAME_UPPER", "SAME_LOWER", "output_shape", "VALID"}
    assert worst < 1e-4


# ---- where the spec, onnx.reference and onnxruntime disagree -----------------------------------


def _where(y, full):
    """``(o, b)`` such that ``y`` is the window ``[b, b + o)`` of ``full`` (zeros outside), else ``None``."""
    o, f = y.shape[-1], full.shape[-1]
    for b in range(-o, f + 1):
        window = np.zeros_like(y)
        lo, hi = max(b, 0), min(b + o, f)
        if lo < hi:
            window[..., lo - b : hi - b] = full[..., lo:hi]
        if np.allclose(window, y, atol=1e-5):
            return (o, b)
    return None


def _run_or_error(fn, attrs, feeds):
    try:
        return fn(attrs, feeds)
    except Exception:  # each implementation raises its own kind of error
        return "error"


def _tconv(attrs, feeds):
    return tonnx.conv_transpose(feeds["X"], feeds["W"], feeds.get("B"), **attrs)


# (input i, kernel k, attributes) -> (o, b) from tconv, onnxruntime, onnx.reference; "error" = refused.
# F = (i−1)·s + d·(k−1) + 1 is the full output; b is the crop at its start (negative: zeros there).
DISAGREEMENTS = {
    # SAME with k_eff < s: T = k_eff − s < 0. Spec: o = i·s. onnxruntime outputs F (it clamps T to 0).
    # onnx.reference splits T with floor division: for SAME_UPPER the zero lands at the start.
    "same_upper_k1_s2": (4, 1, dict(strides=[2], auto_pad="SAME_UPPER"), (8, 0), (7, 0), (8, -1)),
    "same_lower_k2_s5": (4, 2, dict(strides=[5], auto_pad="SAME_LOWER"), (20, 0), (17, 0), (20, -1)),
    # output_shape below F (T > 0) with auto_pad NOTSET: spec and onnxruntime crop T − ⌊T/2⌋ at the
    # start; onnx.reference keeps pads = 0 and its col2im refuses the shape.
    "output_shape_T3": (4, 3, dict(strides=[2], output_shape=[6]), (6, 2), (6, 2), "error"),
    # output_shape with output_padding: op joins T (spec); onnx.reference ignores op in the split.
    "output_shape_with_op": (4, 3, dict(strides=[2], output_shape=[9], output_padding=[1]), (9, 1), (9, 1), (9, 0)),
    # output_shape and pads together: spec and onnxruntime ignore pads; onnx.reference uses them.
    "output_shape_and_pads": (4, 3, dict(strides=[2], output_shape=[8], pads=[2, 2]), (8, 1), (8, 1), "error"),
    # output_shape more than s − 1 past F: the spec allows it (T < 0); onnxruntime refuses.
    "output_shape_far": (4, 3, dict(strides=[2], output_shape=[12]), (12, 0), "error", "error"),
    # SAME_UPPER with output_shape past F: onnxruntime truncates T/2 toward zero (b = 0),
    # onnx.reference floors it (b = −1, a zero at the start).
    "same_upper_output_shape_T-1": (
        4,
        3,
        dict(strides=[2], auto_pad="SAME_UPPER", output_shape=[10]),
        (10, 0),
        (10, 0),
        (10, -1),
    ),
    # stride ≤ output_padding < dilation: the spec ("less than stride/dilation") and PyTorch allow it;
    # onnxruntime and onnx.reference refuse.
    "op_ge_stride": (4, 2, dict(strides=[1], dilations=[2], output_padding=[1]), (7, 0), "error", "error"),
}


@pytest.mark.parametrize("case", sorted(DISAGREEMENTS))
def test_disagreement(case):
    pytest.importorskip("onnxruntime")
    i, k, attrs, want_tconv, want_ort, want_ref = DISAGREEMENTS[case]
    rng = np.random.default_rng(0)
    feeds = {
        "X": rng.standard_normal((1, 1, i)).astype(np.float32),
        "W": rng.standard_normal((1, 1, k)).astype(np.float32),
    }
    s, d = attrs.get("strides", [1]), attrs.get("dilations", [1])
    import tconv

    full = tconv.conv_transpose(feeds["X"], feeds["W"], stride=s, dilation=d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fn, want in ((_tconv, want_tconv), (_ort, want_ort), (_reference, want_ref)):
            y = _run_or_error(fn, attrs, feeds)
            got = y if isinstance(y, str) else _where(y, full)
            assert got == want, f"{fn.__name__}: {got} != {want}"


def test_reference_mishandles_groups_with_bias():
    """onnx.reference adds B[c] of the group-local channel c: group 2 gets group 1's bias."""
    x = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    feeds = {"X": x, "W": np.ones((2, 1, 1), np.float32), "B": np.array([10, 20], np.float32)}
    ours = _tconv({"group": 2}, feeds)
    np.testing.assert_allclose(ours, _ort({"group": 2}, feeds))
    np.testing.assert_allclose(ours[0, 1], x[0, 1] + 20)
    assert not np.allclose(_reference({"group": 2}, feeds), ours)


# ---- models read from .onnx files -------------------------------------------------------------


def test_run_model_exported_by_torch(tmp_path):
    torch = pytest.importorskip("torch")
    layer = torch.nn.ConvTranspose2d(
        4, 6, (3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2, dilation=(1, 2)
    )
    x = torch.randn(2, 4, 5, 3)
    path = tmp_path / "layer.onnx"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(layer, (x,), str(path), dynamo=False, opset_version=17, input_names=["x"])
    except Exception as exc:  # the exporter may need packages that are absent
        pytest.skip(f"torch.onnx.export failed: {exc}")
    (y,) = tonnx.run_model(path, {"x": x.numpy()})
    np.testing.assert_allclose(y, layer(x).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_run_model_two_nodes_with_initializers():
    from onnx import numpy_helper

    rng = np.random.default_rng(1)
    w1, w2 = rng.standard_normal((3, 2, 3, 3)).astype(np.float32), rng.standard_normal((2, 1, 2, 2)).astype(np.float32)
    b2 = rng.standard_normal(1).astype(np.float32)
    nodes = [
        helper.make_node("ConvTranspose", ["x", "w1"], ["h"], strides=[2, 2], auto_pad="SAME_LOWER"),
        helper.make_node(
            "ConvTranspose", ["h", "w2", "b2"], ["y"], pads=[0, 1, 1, 0], output_padding=[1, 0], strides=[2, 1]
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "two",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (w2, "w2"), (b2, "b2"))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_operatorsetid("", 22)])
    x = rng.standard_normal((1, 3, 4, 5)).astype(np.float32)
    (got,) = tonnx.run_model(model, {"x": x})
    ort = pytest.importorskip("onnxruntime")
    (expected,) = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"x": x}
    )
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_errors_name_the_attribute():
    x, w = np.ones((1, 1, 3)), np.ones((1, 1, 2))
    with pytest.raises(TConvError, match="auto_pad"):
        tonnx.conv_transpose(x, w, auto_pad="SAME")
    with pytest.raises(TConvError, match="output_padding"):
        tonnx.conv_transpose(x, w, strides=[2], output_padding=[2])
    with pytest.raises(TConvError, match="pads"):
        tonnx.conv_transpose(x, w, pads=[2, 2])
    with pytest.raises(TConvError, match="kernel_shape"):
        tonnx.conv_transpose(x, w, kernel_shape=[3])
    with pytest.raises(TConvError, match="ConvTranspose nodes only"):
        tonnx.run_node(helper.make_node("Conv", ["X", "W"], ["Y"]), [x, w])


def test_runs_on_torch_tensors():
    torch = pytest.importorskip("torch")
    x, w = torch.randn(1, 2, 4), torch.randn(2, 3, 3)
    y = tonnx.conv_transpose(x, w, strides=[2], auto_pad="SAME_UPPER")
    assert isinstance(y, torch.Tensor)
    expected = tonnx.conv_transpose(x.numpy(), w.numpy(), strides=[2], auto_pad="SAME_UPPER")
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6, atol=1e-6)
