"""ONNX ``ConvTranspose`` on tconv: the operator with its attributes, and nodes read from ``.onnx`` files.

ONNX spells the crop of the full output ``F = (i−1)·s + k_eff`` (``k_eff = d·(k−1)+1``) in three ways:

* ``pads = [b_1..b_n, e_1..e_n]``: ``o = F + op − b − e``;
* ``output_shape`` (pads are then ignored) or ``auto_pad="SAME_*"`` (then ``o = i·s``): the total crop
  of the extended output is ``T = F + op − o``; ``SAME_UPPER`` crops ``b = ⌊T/2⌋`` at the start,
  everything else (``SAME_LOWER``, ``NOTSET``, ``VALID``) ``b = T − ⌊T/2⌋``;
* ``auto_pad="VALID"``: ``b = e = 0``.

The output is the window ``[b, b + o)`` of the full output, zero where it runs past ``F`` — the same
window tconv's core computes. ``output_padding`` (``op``) only moves the end of that window.

Where the spec leaves room (``T < 0``: the requested output is larger than ``F + op``), tconv crops
nothing at the start and appends the ``−T`` zeros at the end, as TensorFlow's ``SAME`` does and as
the official ``test_convtranspose_output_shape`` expects. onnxruntime and ``onnx.reference``
disagree with each other and with the spec there; the README (Interop, ONNX) lists what each does.

>>> import numpy as np
>>> x = np.arange(3.0).reshape(1, 1, 3)
>>> conv_transpose(x, np.ones((1, 1, 3)), strides=[2], pads=[1, 0])
array([[[0., 1., 1., 3., 2., 2.]]])
>>> resolve_pads((3,), (3,), strides=[2], auto_pad="SAME_UPPER")
OnnxPads(begin=(0,), end=(1,), output=(6,))

``import onnx`` happens only inside :func:`run_node` and :func:`run_model`.
"""

from __future__ import annotations

from typing import NamedTuple

from tconv import api
from tconv.arguments import per_axis
from tconv.arrays import as_array, namespace, window
from tconv.errors import TConvError
from tconv.geometry import effective_kernel, full_size

__all__ = ["conv_transpose", "resolve_pads", "OnnxPads", "run_node", "run_model"]

AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


class OnnxPads(NamedTuple):
    """Per spatial axis: crop ``begin`` and ``end`` of the full output ``F`` (negative: zeros added),
    and the output size ``output = F − begin − end``."""

    begin: tuple[int, ...]
    end: tuple[int, ...]
    output: tuple[int, ...]


def _listed(value, default):
    """An attribute as ``per_axis`` takes it: the default, an int, or a list (ONNX gives lists or tuples)."""
    return default if value is None else value if isinstance(value, int) else list(value)


def resolve_pads(
    input_size,
    kernel_shape,
    *,
    auto_pad="NOTSET",
    dilations=None,
    output_padding=None,
    output_shape=None,
    pads=None,
    strides=None,
) -> OnnxPads:
    """The crop ``(b, e)`` of the full output and the output size that ONNX's attributes ask for.

    ``input_size`` and ``kernel_shape`` are spatial sizes. See the module docstring for the rules.

    >>> resolve_pads((3, 3), (3, 3), strides=[3, 2], output_shape=[10, 8])  # zeros at the end
    OnnxPads(begin=(0, 0), end=(-1, -1), output=(10, 8))
    >>> resolve_pads((4,), (3,), strides=[2], output_shape=[6])  # T = 3: the larger half first
    OnnxPads(begin=(2,), end=(1,), output=(6,))
    """
    n = len(kernel_shape)
    if isinstance(auto_pad, bytes):
        auto_pad = auto_pad.decode()
    if auto_pad not in AUTO_PADS:
        raise TConvError(f"auto_pad={auto_pad!r} must be one of {AUTO_PADS}")
    s = per_axis("strides", _listed(strides, 1), n, 1)
    d = per_axis("dilations", _listed(dilations, 1), n, 1)
    op = per_axis("output_padding", _listed(output_padding, 0), n, 0)
    if not all(p < max(si, di) for p, si, di in zip(op, s, d)):
        raise TConvError(
            f"output_padding={list(op)} must be smaller than strides={list(s)} or dilations={list(d)} on every axis"
        )
    full = tuple(full_size(i, si, effective_kernel(k, di)) for i, si, di, k in zip(input_size, s, d, kernel_shape))

    if output_shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        # The spec: T = F + op − o, split SAME_UPPER ⌊T/2⌋ | T − ⌊T/2⌋, otherwise the reverse.
        # T < 0 (o beyond F + op): no crop at the start, the zeros at the end.
        out = (
            per_axis("output_shape", _listed(output_shape, 1), n, 1)
            if output_shape is not None
            else tuple(i * si for i, si in zip(input_size, s))
        )
        total = tuple(f + p - o for f, p, o in zip(full, op, out))
        begin = tuple(0 if t < 0 else t // 2 if auto_pad == "SAME_UPPER" else t - t // 2 for t in total)
    else:
        if auto_pad == "VALID" and pads is not None and any(pads):
            raise TConvError(f"pads={list(pads)} cannot be combined with auto_pad='VALID'")
        flat = (0,) * (2 * n) if pads is None or auto_pad == "VALID" else per_axis("pads", _listed(pads, 0), 2 * n, 0)
        begin = flat[:n]
        out = tuple(f + p - b - e for f, p, b, e in zip(full, op, begin, flat[n:]))
        if any(o < 1 for o in out):
            raise TConvError(
                f"pads={list(flat)} crop the whole output: F + output_padding = {[f + p for f, p in zip(full, op)]} per axis"
            )
    return OnnxPads(begin, tuple(f - b - o for f, b, o in zip(full, begin, out)), out)


def conv_transpose(
    X,
    W,
    B=None,
    *,
    auto_pad="NOTSET",
    dilations=None,
    group=1,
    kernel_shape=None,
    output_padding=None,
    output_shape=None,
    pads=None,
    strides=None,
    method="auto",
):
    """ONNX ``ConvTranspose``: ``X (N, C, *i)``, ``W (C, M/group, *k)``, ``B (M,)``; attributes as in ONNX.

    Per axis the result is the window ``[b, b + o)`` of the full output ``F = (i−1)·s + d·(k−1) + 1``
    with ``(b, e, o)`` from :func:`resolve_pads`, plus ``B`` on every output element (also on
    zeros added past ``F``, as onnxruntime does). ``method`` picks the tconv method.

    >>> import numpy as np
    >>> x = np.array([[[1.0, 2.0]]])
    >>> conv_transpose(x, np.ones((1, 1, 1)), np.array([0.5]), strides=[2], auto_pad="SAME_UPPER")
    array([[[1.5, 0.5, 2.5, 0.5]]])
    """
    X, W = as_array("X", X), as_array("W", W)
    B = None if B is None else as_array("B", B)
    xp = namespace(X, W, B)
    n = W.ndim - 2
    if kernel_shape is not None and tuple(kernel_shape) != tuple(W.shape[2:]):
        raise TConvError(f"kernel_shape={list(kernel_shape)} does not match W of shape {tuple(W.shape)}")
    if X.ndim != n + 2:
        raise TConvError(
            f"X of shape {tuple(X.shape)} must be (N, C, *spatial) with {n} spatial axes, like W {tuple(W.shape)}"
        )
    r = resolve_pads(
        X.shape[2:],
        W.shape[2:],
        auto_pad=auto_pad,
        dilations=dilations,
        output_padding=output_padding,
        output_shape=output_shape,
        pads=pads,
        strides=strides,
    )
    full = tuple(o + b + e for o, b, e in zip(r.output, r.begin, r.end))
    # The core crops b, e ≥ 0 and keeps at least one element; the rest of each crop (negative:
    # zeros added) is a shift of the window over that result: window(core, b − b_core, o).
    b_core = tuple(min(max(b, 0), f - 1) for b, f in zip(r.begin, full))
    e_core = tuple(min(max(e, 0), f - 1 - b) for e, f, b in zip(r.end, full, b_core))
    y = api.conv_transpose(
        X,
        W,
        None,
        1 if strides is None else tuple(strides),
        tuple(zip(b_core, e_core)),
        0,
        group,
        1 if dilations is None else tuple(dilations),
        method=method,
    )
    y = window(y, tuple(b - bc for b, bc in zip(r.begin, b_core)), r.output)
    if B is not None:
        if tuple(B.shape) != (y.shape[1],):
            raise TConvError(f"B must have shape ({y.shape[1]},), one value per output channel; got {tuple(B.shape)}")
        y = y + xp.reshape(xp.astype(B, y.dtype), (-1, *(1,) * n))
    return y


# ---- nodes and models read with the onnx package -------------------------------------------------


def _attributes(node) -> dict:
    from onnx import helper

    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if isinstance(attrs.get("auto_pad"), bytes):
        attrs["auto_pad"] = attrs["auto_pad"].decode()
    return attrs


def run_node(node, inputs, *, method="auto"):
    """Run one ONNX ``ConvTranspose`` ``NodeProto`` on ``inputs`` ``[X, W]`` or ``[X, W, B]``; returns ``Y``.

    >>> import numpy as np
    >>> from onnx import helper
    >>> node = helper.make_node("ConvTranspose", ["X", "W"], ["Y"], strides=[2])
    >>> run_node(node, [np.ones((1, 1, 2)), np.ones((1, 1, 2))])
    array([[[1., 1., 1., 1.]]])
    """
    if node.op_type != "ConvTranspose" or node.domain not in ("", "ai.onnx"):
        raise TConvError(
            f"tconv runs ConvTranspose nodes only; node {node.name!r} is {node.domain or 'ai.onnx'}.{node.op_type}"
        )
    inputs = [v for v in inputs if v is not None]
    if len(inputs) not in (2, 3):
        raise TConvError(f"ConvTranspose node {node.name!r} takes 2 or 3 inputs (X, W, B); got {len(inputs)}")
    return conv_transpose(*inputs, **_attributes(node), method=method)


def run_model(model, feeds, *, method="auto"):
    """Run a model whose graph is ConvTranspose nodes (weights as initializers) on tconv.

    ``model`` is a path or a ``ModelProto``; ``feeds`` maps graph input names to arrays. Returns the
    graph outputs as a list, in order, like ``onnxruntime.InferenceSession.run(None, feeds)``.
    """
    import onnx
    from onnx import numpy_helper

    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model))
    graph = model.graph
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    values.update(feeds)
    for node in graph.node:  # ONNX stores nodes in topological order
        missing = [name for name in node.input if name and name not in values]
        if missing:
            raise TConvError(f"node {node.name!r} needs {missing}, which neither feeds nor initializers give")
        values[node.output[0]] = run_node(node, [values[name] if name else None for name in node.input], method=method)
    return [values[o.name] for o in graph.output]
