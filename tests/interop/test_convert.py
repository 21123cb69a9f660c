"""tconv.convert: argument conversion between frameworks, checked three ways.

* Every ``to_*`` is read back by the matching ``from_*``: its arguments plus its crop give the same
  geometry (pure integers, many random geometries).
* Against the real libraries installed here: PyTorch and onnxruntime run the converted arguments.
* Against stored outputs of JAX and TensorFlow/Keras (``tests/data/convert_*.npz``, made by
  ``tests/data/make_convert_reference.py``), and against the live library when it is importable.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import tconv
from tconv import convert as cv
from tconv.arrays import window
from tconv.cli.main import main

DATA = os.path.join(os.path.dirname(__file__), "data")
TARGETS = ("tconv", "torch", "onnx", "keras", "jax", "mlx")


def reference(c: cv.Canonical, x, w):
    """What the canonical geometry means: the window [b, b + o) of the full output, zeros outside."""
    full = tconv.conv_transpose(x, w, stride=c.stride, dilation=c.dilation)
    return window(full, c.begin, c.output_size(x.shape[2:]))


def random_canonical(rng) -> cv.Canonical:
    """A geometry read from a random framework's spelling."""
    nd = int(rng.integers(1, 3))
    k = tuple(int(v) for v in rng.integers(1, 5, nd))
    s = tuple(int(v) for v in rng.integers(1, 4, nd))
    d = tuple(int(v) for v in rng.integers(1, 3, nd))
    keff = [dd * (kk - 1) + 1 for kk, dd in zip(k, d)]
    source = rng.choice(["torch", "keras", "jax", "onnx", "tconv"])
    if source == "torch":
        p = tuple(int(rng.integers(0, ke)) for ke in keff)
        op = tuple(int(rng.integers(0, max(ss, dd))) for ss, dd in zip(s, d))
        return cv.from_torch(k, s, p, op, d)
    if source == "keras":
        d = (1,) * nd if max(s) > 1 else d  # Keras refuses stride > 1 with dilation > 1
        for _ in range(20):
            op = None if rng.random() < 0.4 else tuple(int(rng.integers(0, ss)) for ss in s)
            try:
                return cv.from_keras(k, s, str(rng.choice(["same", "valid"])), op, d)
            except tconv.TConvError:  # a combination TensorFlow refuses
                continue
        return cv.from_keras(k, s, "same", None, d)
    if source == "jax":
        choice = rng.integers(0, 3)
        padding = (
            "SAME"
            if choice == 0
            else "VALID"
            if choice == 1
            else [(int(rng.integers(0, ke + 3)), int(rng.integers(0, ke + 3))) for ke in keff]
        )
        return cv.from_jax(k, s, padding, d)
    if source == "onnx":
        if rng.random() < 0.5:
            return cv.from_onnx(k, strides=s, dilations=d, auto_pad=str(rng.choice(["SAME_UPPER", "SAME_LOWER"])))
        pads = [int(rng.integers(0, ke)) for ke in keff] * 2
        return cv.from_onnx(k, strides=s, dilations=d, pads=pads)
    return cv.from_tconv(k, s, "same", 0, d)


def read_back(a: cv.Arguments, kernel) -> cv.Canonical:
    """The geometry that framework ``a.framework`` computes from the arguments ``a.args`` (tconv and
    JAX take the kernel size from the kernel itself: ``kernel``)."""
    g = a.args
    if a.framework == "tconv":
        return cv.from_tconv(kernel, g["stride"], g["padding"], g["output_padding"], g["dilation"])
    if a.framework in ("torch", "mlx"):
        return cv.from_torch(g["kernel_size"], g["stride"], g["padding"], g["output_padding"], g["dilation"])
    if a.framework == "onnx":
        return cv.from_onnx(
            g["kernel_shape"],
            strides=g["strides"],
            dilations=g["dilations"],
            pads=g["pads"],
            output_padding=g.get("output_padding"),
        )
    if a.framework == "keras":
        return cv.from_keras(
            g["kernel_size"], g["strides"], g["padding"], g.get("output_padding"), g.get("dilation_rate", 1)
        )
    if a.framework == "jax":
        return cv.from_jax(kernel, g["strides"], g["padding"], g["rhs_dilation"])
    raise AssertionError(a.framework)


def test_every_target_reads_back_to_the_same_geometry():
    rng = np.random.default_rng(0)
    inexact = {t: 0 for t in TARGETS}
    for _ in range(300):
        c = random_canonical(rng)
        for target in TARGETS:
            if target == "keras" and max(c.stride) > 1 and max(c.dilation) > 1:
                with pytest.raises(tconv.TConvError, match="Keras refuses strides > 1 together with dilation_rate > 1"):
                    cv.convert(c, target)
                continue
            a = cv.convert(c, target)
            back = read_back(a, c.kernel)
            crop = a.crop or ((0, 0),) * c.ndim
            assert tuple(b + cs for b, (cs, _) in zip(back.begin, crop)) == c.begin, (c, a)
            assert tuple(e + ce for e, (_, ce) in zip(back.end, crop)) == c.end, (c, a)
            inexact[target] += not a.exact
    # JAX's explicit padding says everything but a crop past k_eff − 1, which is a slice (never zeros to
    # add; test_convert_negative_padding.py); the others need a crop for some geometries.
    assert inexact["torch"] > 0 and inexact["keras"] > 0


def test_tensorflow_same_with_odd_keff_minus_s_is_not_pytorch():
    c = cv.from_keras(3, strides=2, padding="same")
    a = cv.to_torch(c)
    assert not a.exact and a.crop == ((0, 1),)
    assert "not exact" in str(a)
    even = cv.to_torch(cv.from_keras(4, strides=2, padding="same"))
    assert even.exact and even.args["padding"] == (1,) and even.args["output_padding"] == (0,)
    # The usual PyTorch upsampling block (k=3, s=2, p=1, op=1) has no Keras spelling either.
    assert not cv.to_keras(cv.from_torch(3, 2, 1, 1)).exact


# ---- the real libraries installed here -----------------------------------------------------------


def test_converted_torch_arguments_run_in_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    for _ in range(60):
        c = random_canonical(rng)
        a = cv.to_torch(c)
        x = rng.standard_normal((1, 2, *(int(v) for v in rng.integers(2, 6, c.ndim))))
        w = rng.standard_normal((2, 3, *c.kernel))
        if min(c.output_size(x.shape[2:])) < 1:
            continue
        fn = (torch.nn.functional.conv_transpose1d, torch.nn.functional.conv_transpose2d)[c.ndim - 1]
        g = a.args
        try:
            y = fn(
                torch.from_numpy(x),
                torch.from_numpy(w),
                None,
                g["stride"],
                g["padding"],
                g["output_padding"],
                1,
                g["dilation"],
            )
        except RuntimeError:  # the intermediate output is empty: PyTorch refuses, the crop would add zeros
            continue
        np.testing.assert_allclose(cv.apply_crop(y, a.crop).numpy(), reference(c, x, w), rtol=1e-12, atol=1e-12)


def test_converted_onnx_attributes_run_in_onnxruntime():
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    ort.set_default_logger_severity(4)
    rng = np.random.default_rng(2)
    for _ in range(40):
        c = random_canonical(rng)
        a = cv.to_onnx(c)
        x = rng.standard_normal((1, 2, *(int(v) for v in rng.integers(2, 6, c.ndim)))).astype(np.float32)
        w = rng.standard_normal((2, 3, *c.kernel)).astype(np.float32)
        if min(c.output_size(x.shape[2:])) < 1:
            continue
        node = helper.make_node("ConvTranspose", ["X", "W"], ["Y"], **a.args)
        vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in "XWY"]
        model = helper.make_model(
            helper.make_graph([node], "g", vi[:2], vi[2:]), opset_imports=[helper.make_operatorsetid("", 22)]
        )
        try:
            (y,) = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
                None, {"X": x, "W": w}
            )
        except Exception:  # onnxruntime refuses a crop that empties the output
            continue
        np.testing.assert_allclose(cv.apply_crop(y, a.crop), reference(c, x, w), rtol=1e-4, atol=1e-4)


# ---- JAX and TensorFlow: stored outputs, and the live library if present ---------------------------


def _load(name):
    path = os.path.join(DATA, f"convert_{name}.npz")
    data = np.load(path)
    meta = json.loads(str(data["cases"]))
    return meta, data


def _jax_case(case, x, w):
    """tconv's answer for one stored ``jax.lax.conv_transpose`` call, in JAX's layout."""
    dn = case["dimension_numbers"]
    lhs, rhs = (dn[0], dn[1]) if dn else (None, None)
    k_axes = [a for a, ch in enumerate(rhs or "S" * (w.ndim - 2) + "IO") if ch not in "OI"]
    kernel = tuple(w.shape[a] for a in k_axes)
    padding = case["padding"] if isinstance(case["padding"], str) else [tuple(p) for p in case["padding"]]
    c = cv.from_jax(kernel, case["strides"], padding, case["rhs_dilation"])
    xt = cv.activations_to_torch(x.astype(np.float64), lhs)
    wt = cv.kernel_to_torch(w.astype(np.float64), "jax", transpose_kernel=case["transpose_kernel"], rhs_spec=rhs)
    return cv.activations_from_torch(reference(c, xt, wt), lhs)


def test_jax_stored_outputs():
    meta, data = _load("jax")
    assert len(meta["cases"]) >= 50
    for n, case in enumerate(meta["cases"]):
        got = _jax_case(case, data[f"{n}_x"], data[f"{n}_w"])
        np.testing.assert_allclose(got, data[f"{n}_y"], rtol=1e-4, atol=1e-4, err_msg=str(case))


def test_jax_live():
    jax = pytest.importorskip("jax")
    meta, data = _load("jax")
    for n, case in enumerate(meta["cases"][::7]):
        n *= 7
        dn = tuple(case["dimension_numbers"]) if case["dimension_numbers"] else None
        padding = case["padding"] if isinstance(case["padding"], str) else [tuple(p) for p in case["padding"]]
        y = jax.lax.conv_transpose(
            data[f"{n}_x"],
            data[f"{n}_w"],
            case["strides"],
            padding,
            rhs_dilation=case["rhs_dilation"],
            dimension_numbers=dn,
            transpose_kernel=case["transpose_kernel"],
        )
        np.testing.assert_allclose(_jax_case(case, data[f"{n}_x"], data[f"{n}_w"]), np.asarray(y), rtol=1e-4, atol=1e-4)


def _tf_case(case, x, w):
    k = case["kernel_size"]
    nd = x.ndim - 2
    if case["api"] == "keras":
        c = cv.from_keras((k,) * nd, case["strides"], case["padding"], case["output_padding"], case["dilation_rate"])
    else:
        c = cv.from_tensorflow(
            (k,), case["strides"], case["padding"], (case["output_shape"],), x.shape[1:-1], case.get("dilations", 1)
        )
    y = reference(c, cv.activations_to_torch(x.astype(np.float64)), cv.kernel_to_torch(w.astype(np.float64), "keras"))
    return cv.activations_from_torch(y)


def test_tensorflow_keras_stored_outputs():
    meta, data = _load("tensorflow")
    assert {c["api"] for c in meta["cases"]} == {"keras", "tf.nn"}
    for n, case in enumerate(meta["cases"]):
        np.testing.assert_allclose(
            _tf_case(case, data[f"{n}_x"], data[f"{n}_w"]), data[f"{n}_y"], rtol=1e-4, atol=1e-4, err_msg=str(case)
        )


def test_jax_stored_outputs_through_to_tconv():
    """The writer against the real library: JAX's arguments read by from_jax (with the input size),
    written by to_tconv, run by tconv and cropped by apply_crop give JAX's stored output — also where
    the window lies wholly outside the full output, where JAX returned zeros."""
    meta, data = _load("jax")
    outside = 0
    for n, case in enumerate(meta["cases"]):
        x, w, y = data[f"{n}_x"], data[f"{n}_w"], data[f"{n}_y"]
        dn = case["dimension_numbers"]
        lhs, rhs = (dn[0], dn[1]) if dn else (None, None)
        xt = cv.activations_to_torch(x.astype(np.float64), lhs)
        wt = cv.kernel_to_torch(w.astype(np.float64), "jax", transpose_kernel=case["transpose_kernel"], rhs_spec=rhs)
        padding = case["padding"] if isinstance(case["padding"], str) else [tuple(p) for p in case["padding"]]
        c = cv.from_jax(wt.shape[2:], case["strides"], padding, case["rhs_dilation"], input=xt.shape[2:])
        a = cv.to_tconv(c)
        got = cv.apply_crop(tconv.conv_transpose(xt, wt, **a.args), a.crop)
        np.testing.assert_allclose(cv.activations_from_torch(got, lhs), y, rtol=1e-4, atol=1e-4, err_msg=str(case))
        full = c.output_size(xt.shape[2:])  # o; F = o + b + e
        if any(b >= o + b + e or b + o <= 0 for b, e, o in zip(c.begin, c.end, full)):
            assert not y.any(), case  # JAX's answer there: zeros
            outside += 1
    assert outside >= 2  # the stored corner cases: past the end, and before the start


def test_tensorflow_accepts_exactly_the_output_shapes_from_tensorflow_accepts():
    """tf.nn.conv_transpose's own verdict on a grid of output shapes (stored): VALID takes, for one
    input, every o in k_eff − s + 1 .. k_eff + s − 1 — smaller than k_eff too."""
    _, data = _load("tensorflow")
    grid = json.loads(str(data["accepts"]))
    smaller = 0
    for i, k, s, d, o, padding, accepted in grid:
        try:
            cv.from_tensorflow(k, s, padding, o, i, d)
            ours = True
        except tconv.TConvError as exc:
            ours = False
            assert "TensorFlow needs" in str(exc) and "refuses it" not in str(exc)
        assert ours == accepted, (i, k, s, d, o, padding)
        smaller += accepted and padding == "VALID" and o < d * (k - 1) + 1
    assert len(grid) > 1000 and smaller > 10


def test_keras_refusals_match_tensorflow():
    """The combinations from_keras refuses are the ones Keras on TensorFlow refused when the data
    were made (same with k_eff % 2 + output_padding outside 1..stride)."""
    meta, _ = _load("tensorflow")
    stored = {
        (c["kernel_size"], c["strides"], c["padding"], c["output_padding"], c["dilation_rate"])
        for c in meta["cases"]
        if c["api"] == "keras"
    }
    for k, s, d in [(3, 2, 1), (4, 3, 1), (1, 3, 1), (4, 1, 1), (3, 1, 2), (2, 2, 1)]:
        for padding in ("same", "valid"):
            for op in [None, *range(s)]:
                try:
                    cv.from_keras(k, s, padding, op, d)
                    accepted = True
                except tconv.TConvError:
                    accepted = False
                assert accepted == ((k, s, padding, op, d) in stored), (k, s, padding, op, d)


def test_tensorflow_live():
    tf = pytest.importorskip("tensorflow")
    import keras

    meta, data = _load("tensorflow")
    for n, case in enumerate(meta["cases"]):
        x, w = data[f"{n}_x"], data[f"{n}_w"]
        if case["api"] == "tf.nn":
            y = tf.nn.conv_transpose(
                x,
                w,
                [1, case["output_shape"], w.shape[-2]],
                strides=case["strides"],
                padding=case["padding"],
                dilations=case.get("dilations", 1),
            )
        else:
            layer = (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose)[x.ndim - 3](
                w.shape[-2],
                case["kernel_size"],
                strides=case["strides"],
                padding=case["padding"],
                output_padding=case["output_padding"],
                dilation_rate=case["dilation_rate"],
                use_bias=False,
            )
            layer.build(x.shape)
            layer.set_weights([w])
            y = layer(x)
        np.testing.assert_allclose(_tf_case(case, x, w), np.asarray(y), rtol=1e-4, atol=1e-4, err_msg=str(case))


# ---- layouts ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("framework", ["keras", "jax", "mlx", "torch"])
def test_kernel_layouts_round_trip(framework):
    rng = np.random.default_rng(3)
    groups = 2 if framework in ("mlx", "torch") else 1
    w = rng.standard_normal((4, 3, 2, 5))  # (I, O/groups, *k)
    for tk in (True, False):
        there = cv.kernel_from_torch(w, framework, groups=groups, transpose_kernel=tk)
        np.testing.assert_array_equal(cv.kernel_to_torch(there, framework, groups=groups, transpose_kernel=tk), w)
    assert cv.kernel_from_torch(w, "mlx", groups=2).shape == (6, 2, 5, 2)  # (O, *k, I/groups)


def test_mlx_kernel_is_the_conv_weight_with_channels_last():
    """MLX runs conv_general(flip=True) on its (O, *k, I/G) weight: the transposed convolution is the
    correlation of the stride-dilated input with the flipped kernel, as tconv's zero_insert method does."""
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((1, 4, 5)), rng.standard_normal((4, 3, 3))
    w_mlx = cv.kernel_from_torch(w, "mlx", groups=2)
    # correlate the zero-stuffed input (stride 2) with w_mlx flipped, channels moved to (O, I/G, k):
    conv_w = np.flip(np.moveaxis(w_mlx, -1, 1), -1)
    stuffed = np.zeros((1, 4, 9))
    stuffed[..., ::2] = x
    y = tconv.conv(stuffed, conv_w, padding=2, groups=2)
    np.testing.assert_allclose(y, tconv.conv_transpose(x, w, stride=2, groups=2), rtol=1e-12, atol=1e-12)


def test_activation_layouts():
    x = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)  # N, H, W, C
    t = cv.activations_to_torch(x)
    assert t.shape == (2, 5, 3, 4)
    np.testing.assert_array_equal(cv.activations_from_torch(t), x)
    np.testing.assert_array_equal(cv.activations_to_torch(x, "NHWC"), t)
    np.testing.assert_array_equal(cv.activations_from_torch(t, "NCHW"), t)


# ---- tconv convert ------------------------------------------------------------------------------------


def test_cli_keras_to_torch(capsys):
    assert (
        main(
            [
                "convert",
                "--from",
                "keras",
                "--to",
                "torch",
                "--kernel",
                "3",
                "--stride",
                "2",
                "--padding",
                "same",
                "--input",
                "8",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "crop b=0 at the start, e=1 at the end" in out and "= 16 for i=8" in out
    assert "ConvTranspose1d(kernel_size=3, stride=2, padding=0, output_padding=0, dilation=1)" in out
    assert "then crop (start, end) = ((0, 1),)" in out


def test_cli_json_through_tconv_main(capsys):
    argv = [
        "convert",
        "--from",
        "torch",
        "--to",
        "jax",
        "--kernel",
        "3,3",
        "--stride",
        "2",
        "--padding",
        "1",
        "--output-padding",
        "1",
        "--input",
        "4,5",
        "--json",
    ]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["to"]["args"]["padding"] == [[1, 2], [1, 2]] and doc["to"]["exact"]
    assert doc["output_size"] == [8, 10]


JAX_DEFAULTS = {1: "('NHC', 'HIO', 'NHC')", 2: "('NHWC', 'HWIO', 'NHWC')", 3: "('NHWDC', 'HWDIO', 'NHWDC')"}


def _jax_code(capsys, kernel: str) -> str:
    argv = ["convert", "--from", "torch", "--to", "jax", "--kernel", kernel, "--stride", "2", "--padding", "1"]
    assert main([*argv, "--output-padding", "1"]) == 0
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("jax: ")]
    return line[len("jax: ") :]


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_cli_to_jax_prints_sequences_and_the_rank_s_dimension_numbers(ndim, capsys):
    code = _jax_code(capsys, ",".join(["3"] * ndim))
    assert (
        code.startswith("jax.lax.conv_transpose(lhs, rhs, strides=(2,")
        and f"dimension_numbers={JAX_DEFAULTS[ndim]}" in code
    )
    assert "rhs_dilation=(1," in code and "strides=2," not in code


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_cli_to_jax_code_runs_in_jax(ndim, capsys):
    jax = pytest.importorskip("jax")
    code = _jax_code(capsys, ",".join(["3"] * ndim))
    rng = np.random.default_rng(ndim)
    x, w = rng.standard_normal((1, 2, *(4,) * ndim)), rng.standard_normal((2, 3, *(3,) * ndim))  # torch layouts
    lhs = cv.activations_from_torch(x)  # channels last
    rhs = cv.kernel_from_torch(w, "jax")  # (*k, O, I), transpose_kernel=True
    y = eval(code, {"jax": jax, "lhs": lhs, "rhs": rhs})
    expected = tconv.conv_transpose(x, w, stride=2, padding=1, output_padding=1)
    np.testing.assert_allclose(cv.activations_to_torch(np.asarray(y)), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "argv",
    [
        ["--from", "keras", "--to", "torch", "--kernel", "3", "--padding", "bogus"],
        ["--from", "caffe", "--to", "torch", "--kernel", "3"],
        ["--from", "torch", "--to", "onnx", "--kernel", "3", "--stride", "x"],
        ["--from", "tensorflow", "--to", "torch", "--kernel", "3", "--padding", "same"],
        ["--from", "torch", "--to", "keras"],
        ["--from", "jax", "--to", "tconv", "--kernel", "3", "--padding", "1:x"],
        ["--from", "jax", "--to", "tconv", "--kernel", "3", "--padding", "1:2:3"],
        [
            "--from",
            "tensorflow",
            "--to",
            "jax",
            "--kernel",
            "3",
            "--stride",
            "2",
            "--output-shape",
            "5",
            "--input",
            "1",
        ],
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(argv, capsys):
    assert main(["convert", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tconv: error: ") and err.count("\n") == 1
