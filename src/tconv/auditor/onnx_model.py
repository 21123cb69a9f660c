"""``tconv.audit(path_or_model)``: the up-samplers of an ONNX model, read from the file.

Every ``ConvTranspose`` is listed, with its geometry as the spec reads it (:mod:`tconv.interop.onnx`),
its weights' constant-response imbalance (:mod:`tconv.auditor.phases`) and, where the attributes
leave room, how onnxruntime and ``onnx.reference`` read it (:mod:`tconv.auditor.readings`). Also
listed: ``Resize``/``Upsample`` and ``DepthToSpace`` (with the ``Conv`` that feeds it). Shapes come
from ONNX shape inference; a graph with symbolic sizes needs ``input_shapes``. Weights are
initializers, ``Constant`` nodes, or computed from them (weight norm: evaluated with ``onnx.reference``).

Bad input is a :class:`tconv.TConvError` naming the problem: a missing file, a file that is not ONNX,
an opset outside 11 … the installed onnx's, unknown shapes.
"""

from __future__ import annotations

import ast
import importlib.util
import pathlib
from collections.abc import Mapping, Sequence

import numpy as np

from tconv.auditor.layers import resize_layer, subpixel_layer, transposed_layer
from tconv.auditor.readings import readings, rule_notes
from tconv.auditor.records import Audit, Layer, Shape, Skipped
from tconv.errors import TConvError

__all__ = ["audit", "load", "MIN_OPSET", "parse_shape"]

MIN_OPSET = 11
_DEFAULT = ("", "ai.onnx")
UPSAMPLERS = ("ConvTranspose", "Resize", "Upsample", "DepthToSpace")


def parse_shape(text: str) -> tuple[str | None, tuple[int, ...]]:
    """``"1,3,64,64"`` or ``"name=1,3,64,64"`` → ``(name or None, shape)``.

    >>> parse_shape("x=1,3,8,8")
    ('x', (1, 3, 8, 8))
    """
    name, _, dims = text.rpartition("=")
    try:
        shape = tuple(int(d) for d in dims.split(","))
    except ValueError:
        raise TConvError(f"--input-shape {text!r} must be sizes like 1,3,64,64 (or NAME=1,3,64,64)") from None
    if not shape or any(d < 1 for d in shape):
        raise TConvError(f"--input-shape {text!r}: every size must be a positive whole number")
    return name or None, shape


def load(model):
    """A ``ModelProto`` from a path or a ``ModelProto``, its default-domain opset checked."""
    import onnx

    if not isinstance(model, onnx.ModelProto):
        path = pathlib.Path(model)
        if not path.is_file():
            raise TConvError(f"MODEL {str(model)!r}: no such file")
        try:
            model = onnx.load(str(path))
        except Exception as exc:
            raise TConvError(f"MODEL {str(path)!r} is not an ONNX model ({type(exc).__name__})") from None
        if not model.graph.node and not model.graph.input:
            raise TConvError(f"MODEL {str(path)!r} is not an ONNX model (no graph in it)")
    opsets = {o.domain: o.version for o in model.opset_import}
    opset = next((opsets[d] for d in _DEFAULT if d in opsets), None)
    newest = onnx.defs.onnx_opset_version()
    if opset is None or not MIN_OPSET <= opset <= newest:
        raise TConvError(
            f"opset {opset}: tconv audit reads ai.onnx opsets {MIN_OPSET} to {newest}; "
            "convert the model first (onnx.version_converter.convert_version)"
        )
    return model


def _with_shapes(model, input_shapes: Mapping[str | None, Sequence[int]] | None):
    import onnx

    model_copy = onnx.ModelProto()
    model_copy.CopyFrom(model)
    initializers = {t.name for t in model_copy.graph.initializer}
    inputs = [v for v in model_copy.graph.input if v.name not in initializers]
    for name, shape in (input_shapes or {}).items():
        target = inputs[0] if name is None and inputs else next((v for v in inputs if v.name == name), None)
        if target is None:
            known = ", ".join(v.name for v in inputs) or "none"
            raise TConvError(f"--input-shape {name}=...: the graph has no input {name!r} (its inputs: {known})")
        dims = target.type.tensor_type.shape.dim
        if len(dims) and len(dims) != len(shape):
            raise TConvError(f"--input-shape {list(shape)}: graph input {target.name!r} has {len(dims)} dimensions")
        target.type.tensor_type.shape.Clear()
        for d in shape:
            target.type.tensor_type.shape.dim.add().dim_value = int(d)
    try:
        return onnx.shape_inference.infer_shapes(model_copy, data_prop=True)
    except Exception as exc:
        raise TConvError(f"ONNX shape inference failed: {str(exc).splitlines()[0][:200]}") from None


def _shapes(model) -> dict[str, Shape | None]:
    out: dict[str, Shape | None] = {}
    graph = model.graph
    for v in (*graph.input, *graph.value_info, *graph.output):
        t = v.type.tensor_type
        if not t.HasField("shape"):
            out.setdefault(v.name, None)
            continue
        dims = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in t.shape.dim)
        out[v.name] = dims
    for init in graph.initializer:
        out[init.name] = tuple(init.dims)
    return out


class _Constants:
    """Initializers and ``Constant`` outputs; other values computed from them only, evaluated on demand."""

    def __init__(self, model):
        from onnx import numpy_helper

        self.model = model
        self.values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        self.producer = {out: node for node in model.graph.node for out in node.output}
        self.inputs = {v.name for v in model.graph.input} - set(self.values)

    def get(self, name: str) -> np.ndarray | None:
        if not name:
            return None
        if name not in self.values:
            nodes = self._ancestry(name)
            if nodes is None:
                return None
            self.values[name] = self._evaluate(nodes, name)
        return self.values[name]

    def _ancestry(self, name: str):
        """The nodes that compute ``name`` from constants alone, in graph order; None if a graph input is needed."""
        needed: dict[int, object] = {}
        stack = [name]
        while stack:
            value = stack.pop()
            if not value or value in self.values:
                continue
            node = self.producer.get(value)
            if value in self.inputs or node is None:
                return None
            if id(node) not in needed:
                needed[id(node)] = node
                stack.extend(node.input)
        return [n for n in self.model.graph.node if id(n) in needed]

    def _evaluate(self, nodes, name: str) -> np.ndarray | None:
        from onnx import helper, numpy_helper
        from onnx.reference import ReferenceEvaluator

        used = {i for n in nodes for i in n.input if i in self.values}
        graph = helper.make_graph(
            nodes,
            "weights",
            [],
            [helper.make_empty_tensor_value_info(name)],
            [numpy_helper.from_array(np.asarray(self.values[i]), i) for i in used],
        )
        sub = helper.make_model(graph, opset_imports=self.model.opset_import)
        try:
            return np.asarray(ReferenceEvaluator(sub).run(None, {})[0])
        except Exception:
            return None


def _attributes(node) -> dict:
    from onnx import helper

    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    for key, value in attrs.items():
        if isinstance(value, bytes):
            attrs[key] = value.decode()
        elif isinstance(value, list):
            attrs[key] = [int(v) if isinstance(v, int) else v for v in value]
    return attrs


def _scope(node) -> str | None:
    """The torch module path that ``torch.onnx.export`` records for the node, if it did."""
    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes":
            try:
                scopes = [s for s in ast.literal_eval(prop.value) if s]
            except (ValueError, SyntaxError):
                return None
            return scopes[-2] if len(scopes) >= 2 else None
    return None


def _unknown(shape: Shape | None) -> bool:
    """No shape, or a symbolic size past the batch axis."""
    return shape is None or any(not isinstance(d, int) for d in shape[1:])


def _known(shape: Shape | None, name: str, node, given: bool) -> Shape:
    if shape is None or _unknown(shape):
        hint = "" if given else ": give --input-shape N,C,H,W (input_shapes= in Python)"
        raise TConvError(
            f"node {node.name!r} ({node.op_type}): the shape of its input {name!r} is unknown "
            f"({'no shape' if shape is None else shape}){hint}"
        )
    return shape


def _conv_transpose(node, shapes, constants, opset: int, given: bool) -> Layer | Skipped:
    x_shape = _known(shapes.get(node.input[0]), node.input[0], node, given)
    weight = constants.get(node.input[1])
    w_shape = weight.shape if weight is not None else shapes.get(node.input[1])
    if w_shape is None or _unknown(w_shape) or not isinstance(w_shape[0], int):
        return Skipped(node.name, node.op_type, "its weight is computed at run time, of a shape not known before")
    attrs = _attributes(node)
    n = len(w_shape) - 2
    spatial, kernel = tuple(int(i) for i in x_shape[2:]), tuple(int(k) for k in w_shape[2:])
    found = readings(spatial, kernel, attrs, opset)
    spec = found[0]
    if spec.error is not None:
        raise TConvError(f"node {node.name!r} (ConvTranspose): {spec.error}")
    ambiguous = [
        r.describe() + f"; the spec: {spec.describe()[len('spec ') :]}" for r in found[1:] if not r.same_as(spec)
    ]
    ambiguous += rule_notes(spatial, kernel, attrs)
    groups = int(attrs.get("group", 1))
    out_shape = (x_shape[0], int(w_shape[1]) * groups, *(spec.output or ()))
    inferred = shapes.get(node.output[0])
    if inferred is not None and all(isinstance(d, int) for d in inferred[2:]) and inferred[2:] != out_shape[2:]:
        ambiguous.append(f"ONNX shape inference gives {list(inferred)}, the spec {list(out_shape)}")
    return transposed_layer(
        node.name,
        "ConvTranspose",
        x_shape,
        out_shape,
        weight,
        stride=attrs.get("strides") or (1,) * n,
        dilation=attrs.get("dilations") or (1,) * n,
        crop=tuple(zip(spec.begin or (), spec.end or ())),
        output_padding=attrs.get("output_padding") or (0,) * n,
        groups=groups,
        ambiguous=ambiguous,
        module=_scope(node),
        kernel=kernel,
    )


def _depth_to_space(node, shapes, constants, given: bool) -> Layer:
    x_shape = _known(shapes.get(node.input[0]), node.input[0], node, given)
    attrs = _attributes(node)
    block = int(attrs["blocksize"])
    n = len(x_shape) - 2
    out = shapes.get(node.output[0]) or (x_shape[0], x_shape[1] // block**n, *(d * block for d in x_shape[2:]))
    feeder = next((m for m in constants.model.graph.node if node.input[0] in m.output), None)
    weight, fed = None, None
    if feeder is not None and feeder.op_type == "Conv" and feeder.domain in _DEFAULT:
        weight, fed = constants.get(feeder.input[1]), feeder.name
    return subpixel_layer(
        node.name,
        node.op_type,
        x_shape,
        out,
        weight,
        scale=(block,) * n,
        mode=str(attrs.get("mode", "DCR")),
        feeds_from=fed,
        module=_scope(node),
    )


def _resize(node, shapes, given: bool) -> Layer | Skipped:
    x_shape, out = shapes.get(node.input[0]), shapes.get(node.output[0])
    unknown = [v for v, s in ((node.input[0], x_shape), (node.output[0], out)) if _unknown(s)]
    if unknown:
        if not given:
            _known(None, unknown[0], node, given)  # raises: the shapes are needed
        return Skipped(node.name, node.op_type, "its output size is unknown (scales or sizes computed at run time)")
    assert x_shape is not None and out is not None
    if all(o <= i for i, o in zip(x_shape[2:], out[2:])):
        return Skipped(node.name, node.op_type, "it does not up-sample (no axis grows)")
    mode = str(_attributes(node).get("mode", "nearest"))
    return resize_layer(node.name, node.op_type, x_shape, out, mode=mode, module=_scope(node))


def audit(model, *, input_shapes: Mapping[str | None, Sequence[int]] | None = None) -> Audit:
    """Audit the up-samplers of an ONNX model (a path or a ``onnx.ModelProto``).

    Parameters
    ----------
    model : str, os.PathLike or onnx.ModelProto
        The model.
    input_shapes : mapping, optional
        ``{input name: shape}`` for graph inputs with symbolic sizes; the key ``None`` means the first
        graph input (``tconv audit --input-shape 1,3,64,64``).

    Returns
    -------
    Audit
        One :class:`~tconv.auditor.records.Layer` per up-sampler, in graph order.

    Raises
    ------
    TConvError
        A missing file, a file that is not ONNX, an unsupported opset, or unknown shapes.
    """
    proto = load(model)
    name = str(model) if not hasattr(model, "graph") else (proto.graph.name or "model")
    opset = next(o.version for o in proto.opset_import if o.domain in _DEFAULT)
    inferred = _with_shapes(proto, input_shapes)
    shapes, constants = _shapes(inferred), _Constants(inferred)
    initializers = {t.name for t in inferred.graph.initializer}
    dynamic = any(_unknown(shapes.get(v.name)) for v in inferred.graph.input if v.name not in initializers)
    given = bool(input_shapes) or not dynamic  # whether --input-shape could tell more
    layers: list[Layer] = []
    skipped: list[Skipped] = []
    for node in inferred.graph.node:
        if node.op_type not in UPSAMPLERS:
            _subgraph_upsamplers(node, skipped)
            continue
        if node.domain not in _DEFAULT:
            skipped.append(Skipped(node.name, f"{node.domain}.{node.op_type}", "not the standard ONNX operator"))
            continue
        if node.op_type == "ConvTranspose":
            found = _conv_transpose(node, shapes, constants, opset, given)
        elif node.op_type == "DepthToSpace":
            found = _depth_to_space(node, shapes, constants, given)
        else:
            found = _resize(node, shapes, given)
        (layers if isinstance(found, Layer) else skipped).append(found)
    notes = ()
    if layers and importlib.util.find_spec("onnxruntime") is None:
        notes = ("onnxruntime is not installed: its reading of each ConvTranspose was not measured",)
    return Audit(model=name, source="onnx", layers=tuple(layers), skipped=tuple(skipped), opset=opset, notes=notes)


def _subgraph_upsamplers(node, skipped: list[Skipped]) -> None:
    from onnx import AttributeProto

    for a in node.attribute:
        graphs = [a.g] if a.type == AttributeProto.GRAPH else list(a.graphs)
        for g in graphs:
            for inner in g.node:
                if inner.op_type in UPSAMPLERS:
                    skipped.append(
                        Skipped(inner.name, inner.op_type, f"inside a subgraph of {node.op_type} node {node.name!r}")
                    )
                _subgraph_upsamplers(inner, skipped)
