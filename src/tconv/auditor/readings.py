"""How each reader of an ONNX ``ConvTranspose`` reads its attributes: the spec, onnxruntime, ``onnx.reference``.

A *reading* is the crop ``(b, e)`` of the full output ``F = (i−1)·s + k_eff`` and the output size
``o = F − b − e``, per spatial axis. The spec's is :func:`tconv.interop.onnx.resolve_pads`. A
runtime's is *measured*: the node is run axis by axis, as a 1-D ``ConvTranspose`` on random data,
and the window of the full output it returns is located — so the audit reports what the installed
onnxruntime and ``onnx.reference`` actually do, not what their documentation says.

Only nodes whose attributes leave room are probed: ``auto_pad`` ``SAME_UPPER``/``SAME_LOWER``,
``output_shape`` (with or without ``pads``), and an ``output_padding`` not below the stride. Explicit
``pads`` (what ``torch.onnx.export`` writes) read the same everywhere.

>>> r = spec_reading((4,), (3,), {"strides": [2], "auto_pad": "SAME_UPPER"})
>>> r.begin, r.end, r.output
((0,), (1,), (8,))
>>> [note.split(";")[0] for note in rule_notes((4,), (3,), {"strides": [2], "auto_pad": "SAME_UPPER"})]
['axis 0: the total crop T = 1 is odd']
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np

from tconv.errors import TConvError
from tconv.geometry import effective_kernel, full_size
from tconv.interop.onnx import resolve_pads

__all__ = ["Reading", "spec_reading", "runtime_reading", "readings", "rule_notes", "is_open", "attributes_per_axis"]

RUNTIMES = ("onnxruntime", "onnx.reference")


@dataclass(frozen=True)
class Reading:
    """One reader's crop ``begin``/``end`` of the full output and ``output`` size per axis, or its ``error``."""

    reader: str
    begin: tuple[int, ...] | None = None
    end: tuple[int, ...] | None = None
    output: tuple[int, ...] | None = None
    error: str | None = None

    def same_as(self, other: Reading) -> bool:
        return (self.begin, self.output, self.error is None) == (other.begin, other.output, other.error is None)

    def describe(self) -> str:
        if self.error is not None:
            return f"{self.reader} refuses it ({self.error})"
        crops = ", ".join(f"{b}:{e}" for b, e in zip(self.begin or (), self.end or ()))
        return f"{self.reader} crops b:e = {crops}, output {list(self.output or ())}"


def _attr(attrs: dict, name: str, n: int, default: int) -> list[int]:
    value = attrs.get(name)
    return [default] * n if value is None else [int(v) for v in value]


def is_open(attrs: dict, n: int) -> bool:
    """Whether the attributes of a node with ``n`` spatial axes leave room for readers to differ."""
    auto_pad = attrs.get("auto_pad", "NOTSET")
    big_op = any(p >= s for p, s in zip(_attr(attrs, "output_padding", n, 0), _attr(attrs, "strides", n, 1)))
    return auto_pad in ("SAME_UPPER", "SAME_LOWER") or attrs.get("output_shape") is not None or big_op


def spec_reading(input_size, kernel, attrs: dict) -> Reading:
    """The spec's reading (tconv's), from :func:`tconv.interop.onnx.resolve_pads`."""
    keys = ("auto_pad", "dilations", "output_padding", "output_shape", "pads", "strides")
    given = {k: attrs[k] for k in keys if attrs.get(k) is not None}
    shape = given.get("output_shape")
    if shape is not None and len(shape) == len(kernel) + 2:  # N and C given too: the spec's example
        given["output_shape"] = list(shape)[2:]
    try:
        r = resolve_pads(tuple(input_size), tuple(kernel), **given)
    except TConvError as exc:
        return Reading("spec", error=str(exc))
    return Reading("spec", r.begin, r.end, r.output)


def attributes_per_axis(attrs: dict, n: int, axis: int) -> dict:
    """The node's attributes restricted to one spatial axis (as a 1-D ``ConvTranspose`` takes them)."""
    one = {"auto_pad": attrs.get("auto_pad", "NOTSET")}
    for name in ("strides", "dilations", "output_padding"):
        if attrs.get(name) is not None:
            one[name] = [int(attrs[name][axis])]
    if attrs.get("pads") is not None:
        one["pads"] = [int(attrs["pads"][axis]), int(attrs["pads"][n + axis])]
    shape = attrs.get("output_shape")
    if shape is not None:
        one["output_shape"] = [int(shape[axis + (2 if len(shape) == n + 2 else 0)])]
    return one


def _probe_model(i: int, k: int, one: dict, opset: int):
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(i * 1000 + k)
    w = rng.standard_normal((1, 1, k)).astype(np.float32)
    node = helper.make_node("ConvTranspose", ["X", "W"], ["Y"], **one)
    graph = helper.make_graph(
        [node],
        "probe",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 1, i])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w, "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", max(opset, 11))])
    model.ir_version = min(model.ir_version, 10)
    return model, rng.standard_normal((1, 1, i)).astype(np.float32), w


def _run(runtime: str, model, x: np.ndarray) -> np.ndarray:
    if runtime == "onnxruntime":
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 4
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        return session.run(None, {"X": x})[0]
    from onnx.reference import ReferenceEvaluator

    return ReferenceEvaluator(model).run(None, {"X": x})[0]


def _locate(y: np.ndarray, full: np.ndarray) -> int | None:
    """The start ``b`` of the window of ``full`` (zeros outside it) that equals ``y``."""
    o, f = y.shape[-1], full.shape[-1]
    padded = np.concatenate([np.zeros(o), full, np.zeros(o)])
    for b in range(-o, f + 1):
        if np.allclose(padded[b + o : b + 2 * o], y, rtol=1e-4, atol=1e-5):
            return b
    return None


def version(runtime: str) -> str:
    """``"onnxruntime 1.32.0"``: the reader with its installed version."""
    module = "onnxruntime" if runtime == "onnxruntime" else "onnx"
    return f"{runtime} {getattr(__import__(module), '__version__', '?')}"


def runtime_reading(runtime: str, input_size, kernel, attrs: dict, opset: int = 18) -> Reading:
    """``runtime``'s reading ("onnxruntime" or "onnx.reference"), measured one axis at a time."""
    from tconv.api import conv_transpose

    name = version(runtime)
    n = len(kernel)
    begin, end, output = [], [], []
    for axis, (i, k) in enumerate(zip(input_size, kernel)):
        one = attributes_per_axis(attrs, n, axis)
        model, x, w = _probe_model(int(i), int(k), one, opset)
        try:
            y = _run(runtime, model, x)
        except Exception as exc:  # a runtime's refusal is the measurement
            message = str(exc).strip().splitlines()[-1]
            return Reading(name, error=message.split("Status Message: ")[-1][:120])
        s, d = one.get("strides", [1])[0], one.get("dilations", [1])[0]
        full = conv_transpose(x.astype(np.float64), w.astype(np.float64), stride=s, dilation=d)[0, 0]
        b = _locate(np.asarray(y, dtype=np.float64).reshape(-1), full)
        if b is None:
            return Reading(name, error=f"axis {axis}: its output is no window of the full output")
        f = full_size(int(i), s, effective_kernel(int(k), d))
        o = int(np.size(y))
        begin.append(b)
        end.append(f - b - o)
        output.append(o)
    return Reading(name, tuple(begin), tuple(end), tuple(output))


def readings(input_size, kernel, attrs: dict, opset: int = 18) -> list[Reading]:
    """The spec's reading, then each installed runtime's (probed only where :func:`is_open`)."""
    found = [spec_reading(input_size, kernel, attrs)]
    if is_open(attrs, len(kernel)):
        for runtime in RUNTIMES:
            if importlib.util.find_spec(runtime.split(".")[0]) is not None:
                found.append(runtime_reading(runtime, input_size, kernel, attrs, opset))
    return found


def rule_notes(input_size, kernel, attrs: dict) -> list[str]:
    """What is known to be read differently, by rule: an odd total crop (the spec's text changed),
    ``output_shape`` with ``pads``, ``output_padding`` with ``SAME`` (shape inference), negative ``T``."""
    spec = spec_reading(input_size, kernel, attrs)
    if spec.error is not None or spec.begin is None or spec.end is None:
        return []
    n = len(kernel)
    auto_pad = attrs.get("auto_pad", "NOTSET")
    split = auto_pad in ("SAME_UPPER", "SAME_LOWER") or attrs.get("output_shape") is not None
    op = _attr(attrs, "output_padding", n, 0)
    per_axis: dict[str, list[int]] = {}  # one note for the axes that read alike
    for a, (b, e, p) in enumerate(zip(spec.begin, spec.end, op)):
        total = b + e + p  # T = F + op − o, the crop the spec splits
        if split and total < 0:
            text = (
                f"the output asked for is {-total} larger than F + output_padding; the spec leaves open where the "
                "zeros go (tconv: at the end), and runtimes differ"
            )
        elif split and total % 2:
            other = total - b
            text = (
                f"the total crop T = {total} is odd; the spec ({auto_pad}) crops the extra cell at the "
                f"{'start' if b > other else 'end'} (b={b}, e={e}); its formula before the fix of onnx/onnx#1609, "
                f"and onnxruntime before 1.13 (microsoft/onnxruntime#12537), crop it at the other end "
                f"(b={other}, e={e + b - other})"
            )
        else:
            continue
        per_axis.setdefault(text, []).append(a)
    notes = [
        f"axis {axes[0]}: {text}" if len(axes) == 1 else f"axes {', '.join(map(str, axes))}: {text}"
        for text, axes in per_axis.items()
    ]
    if attrs.get("output_shape") is not None and attrs.get("pads") is not None and any(attrs["pads"]):
        notes.append(
            f"output_shape={list(attrs['output_shape'])} with pads={list(attrs['pads'])}: the spec ignores the pads; "
            "onnx.reference reads them (the window can move, or the node fail)"
        )
    if auto_pad in ("SAME_UPPER", "SAME_LOWER") and any(op):
        inferred = [i * s + p for i, s, p in zip(input_size, _attr(attrs, "strides", n, 1), op)]
        notes.append(
            f"{auto_pad} with output_padding={op}: ONNX shape inference gives {inferred}, the spec and onnxruntime "
            f"{list(spec.output or ())}"
        )
    strides, dilations = _attr(attrs, "strides", n, 1), _attr(attrs, "dilations", n, 1)
    if any(p >= s for p, s in zip(op, strides)):
        notes.append(
            f"output_padding={op} is not below strides={strides}: the spec allows it (it is below "
            f"dilations={dilations}); onnxruntime refuses it"
        )
    return notes
