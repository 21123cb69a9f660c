"""``tconv audit MODEL.onnx --rewrite OUT.onnx``: every ``ConvTranspose`` spelled with explicit ``pads``.

The copy has no ``auto_pad`` and no ``output_shape``: each node gets ``pads`` (begin values, then end
values) and, where the output runs past the full output ``F`` by less than the stride,
``output_padding``. A reading no ``ConvTranspose`` can spell — zeros before the output, or more
zeros after it than ``output_padding`` may add — becomes the node without them, then a ``Pad``
(and the bias, moved after the ``Pad``, as an ``Add``: the added zeros get it too, as onnxruntime
gives them for ``output_padding``).

Where readers disagree (:mod:`tconv.auditor.readings`), ``follow`` settles it: ``"onnxruntime"``
(the default) keeps onnxruntime's reading, so the copy gives the original's onnxruntime output;
where onnxruntime refuses the original — or is not installed — the spec's reading is kept.
``"spec"`` keeps the spec's everywhere. The notes say, node by node, what was done and why.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tconv.auditor.onnx_model import _DEFAULT, _attributes, _shapes, _with_shapes, load
from tconv.auditor.readings import Reading, readings
from tconv.errors import TConvError

__all__ = ["Rewrite", "rewrite", "FOLLOW"]

FOLLOW = ("onnxruntime", "spec")


@dataclass(frozen=True)
class Rewrite:
    """The rewritten ``model`` (an ``onnx.ModelProto``), the names of the nodes changed, and the notes."""

    model: object
    changed: tuple[str, ...]
    notes: tuple[str, ...]
    follow: str

    def to_dict(self) -> dict:
        return {"follow": self.follow, "changed": list(self.changed), "notes": list(self.notes)}


def _spelled(attrs: dict) -> str:
    keys = ("auto_pad", "output_shape", "pads", "output_padding", "strides", "dilations")
    return ", ".join(f"{k}={attrs[k]}" for k in keys if attrs.get(k) is not None and attrs.get(k) != "NOTSET")


def _choose(found: list[Reading], follow: str) -> tuple[Reading, str]:
    spec = found[0]
    runtime = next((r for r in found[1:] if r.reader.startswith("onnxruntime")), None)
    others = [r for r in found[1:] if not r.same_as(spec)]
    if not others:
        return spec, ""
    differ = "readers differ — " + "; ".join(r.describe() for r in found)
    if follow == "onnxruntime" and runtime is not None and runtime.same_as(spec):
        return spec, f"{differ}: onnxruntime reads it as the spec does; the copy keeps that reading"
    if follow == "onnxruntime" and runtime is not None and runtime.error is None:
        return runtime, f"{differ}: kept onnxruntime's reading, so the copy gives the original's onnxruntime output"
    why = "onnxruntime refuses the original" if runtime is not None and runtime.error else "asked to follow the spec"
    return spec, f"{differ}: {why}, so the copy follows the spec"


def _new_nodes(node, reading: Reading, strides: Sequence[int], init: list, n: int):
    """The replacement nodes for ``node`` read as ``reading``, and the attributes given."""
    from onnx import helper, numpy_helper

    attrs = _attributes(node)
    begin, end = reading.begin or (), reading.end or ()
    pads = [max(b, 0) for b in begin] + [max(e, 0) for e in end]
    zeros_start = [max(-b, 0) for b in begin]
    zeros_end = [max(-e, 0) for e in end]
    as_output_padding = not any(zeros_start) and all(z < s for z, s in zip(zeros_end, strides))
    keep = {k: v for k, v in attrs.items() if k in ("strides", "dilations", "group", "kernel_shape")}
    keep["pads"] = pads
    if as_output_padding and any(zeros_end):
        keep["output_padding"] = zeros_end
    if as_output_padding:
        return [helper.make_node("ConvTranspose", list(node.input), list(node.output), name=node.name, **keep)], keep
    out = node.output[0]
    inner, padded = f"{out}__tconv_full", f"{out}__tconv_padded"
    has_bias = len(node.input) > 2 and node.input[2]
    pads_name = f"{out}__tconv_pads"
    init.append(numpy_helper.from_array(np.array([0, 0, *zeros_start, 0, 0, *zeros_end], dtype=np.int64), pads_name))
    nodes = [
        helper.make_node("ConvTranspose", list(node.input[:2]), [inner], name=node.name, **keep),
        helper.make_node("Pad", [inner, pads_name], [padded if has_bias else out], name=f"{node.name}__tconv_pad"),
    ]
    if has_bias:
        shape_name = f"{out}__tconv_bias_shape"
        init.append(numpy_helper.from_array(np.array([-1, *([1] * n)], dtype=np.int64), shape_name))
        nodes += [
            helper.make_node(
                "Reshape", [node.input[2], shape_name], [f"{out}__tconv_bias"], name=f"{node.name}__tconv_bias"
            ),
            helper.make_node("Add", [padded, f"{out}__tconv_bias"], [out], name=f"{node.name}__tconv_add"),
        ]
    keep = {**keep, "then": f"Pad(start {zeros_start}, end {zeros_end})" + (", then the bias" if has_bias else "")}
    return nodes, keep


def rewrite(
    model,
    out: str | pathlib.Path | None = None,
    *,
    follow: str = "onnxruntime",
    input_shapes: Mapping[str | None, Sequence[int]] | None = None,
) -> Rewrite:
    """A copy of ``model`` with every default-domain ``ConvTranspose`` spelled with explicit ``pads``.

    Parameters
    ----------
    model : str, os.PathLike or onnx.ModelProto
    out : path, optional
        Where to save the copy (checked by ``onnx.checker`` first).
    follow : {"onnxruntime", "spec"}
        Whose reading to keep where readers disagree (see the module docstring).
    input_shapes : mapping, optional
        As for :func:`tconv.audit`, for graphs with symbolic sizes.

    Returns
    -------
    Rewrite
        The copy, the names of the nodes changed, and a note per node saying what was done and why.

    Raises
    ------
    TConvError
        As :func:`tconv.audit`; also a ``follow`` not in :data:`FOLLOW`.
    """
    import onnx

    if follow not in FOLLOW:
        raise TConvError(f"--follow {follow!r} must be one of {', '.join(FOLLOW)}")
    original = load(model)
    opset = next(o.version for o in original.opset_import if o.domain in _DEFAULT)
    shapes = _shapes(_with_shapes(original, input_shapes))
    copy = onnx.ModelProto()
    copy.CopyFrom(original)
    nodes, init, changed, notes = [], [], [], []
    for node in copy.graph.node:
        if node.op_type != "ConvTranspose" or node.domain not in _DEFAULT:
            nodes.append(node)
            continue
        attrs = _attributes(node)
        x = shapes.get(node.input[0])
        w = shapes.get(node.input[1])
        if x is None or w is None or any(not isinstance(d, int) for d in (*x[2:], *w[2:])):
            raise TConvError(
                f"node {node.name!r} (ConvTranspose): the shape of {node.input[0]!r} or its weight is unknown: give --input-shape"
            )
        n = len(w) - 2
        found = readings(tuple(x[2:]), tuple(w[2:]), attrs, opset)
        if found[0].error is not None:
            raise TConvError(f"node {node.name!r} (ConvTranspose): {found[0].error}")
        chosen, why = _choose(found, follow)
        replacement, given = _new_nodes(node, chosen, attrs.get("strides") or [1] * n, init, n)
        nodes += replacement
        explicit = attrs.get("auto_pad", "NOTSET") == "NOTSET" and attrs.get("output_shape") is None
        if explicit and "pads" in attrs and len(replacement) == 1 and given.get("pads") == attrs["pads"]:
            continue  # already explicit: nothing changes
        changed.append(node.name)
        done = ", ".join(f"{k}={v}" for k, v in given.items() if k in ("pads", "output_padding", "then"))
        notes.append(f"{node.name}: {_spelled(attrs) or 'defaults'} -> {done}" + (f"; {why}" if why else ""))
    del copy.graph.node[:]
    copy.graph.node.extend(nodes)
    copy.graph.initializer.extend(init)
    try:
        onnx.checker.check_model(copy)
    except onnx.checker.ValidationError as exc:
        raise TConvError(f"the rewritten model fails onnx.checker: {str(exc).splitlines()[0]}") from None
    if out is not None:
        pathlib.Path(out).parent.mkdir(parents=True, exist_ok=True)
        onnx.save(copy, str(out))
    kept = sum(1 for node in original.graph.node if node.op_type == "ConvTranspose") - len(changed)
    if kept:
        notes.append(f"{kept} ConvTranspose node{'s' if kept != 1 else ''} already had explicit pads: unchanged")
    return Rewrite(copy, tuple(changed), tuple(notes), follow)
