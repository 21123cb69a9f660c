"""Small ONNX graphs built with ``onnx.helper`` for the audit's tests: one node, or a short chain."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")  # collected for doctests: skip without onnx
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

FLOAT = TensorProto.FLOAT


def model(nodes, inputs, initializers=(), opset=18, outputs=("Y",)):
    """A model of ``nodes``; ``inputs`` maps names to shapes (symbolic sizes as strings). The outputs
    have the first input's rank, their sizes left symbolic (onnx.checker needs a shape)."""
    rank = len(next(iter(inputs.values())))
    graph = helper.make_graph(
        list(nodes),
        "test",
        [helper.make_tensor_value_info(n, FLOAT, list(s)) for n, s in inputs.items()],
        [helper.make_tensor_value_info(o, FLOAT, [f"{o}{a}" for a in range(rank)]) for o in outputs],
        [numpy_helper.from_array(np.asarray(v), n) for n, v in dict(initializers).items()],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def conv_transpose(x_shape, w, b=None, **attrs):
    """One ``ConvTranspose`` node ``X, W[, B] → Y`` with ``attrs``, weights as initializers."""
    names = ["X", "W"] + (["B"] if b is not None else [])
    inits = {"W": np.asarray(w, np.float32), **({"B": np.asarray(b, np.float32)} if b is not None else {})}
    node = helper.make_node("ConvTranspose", names, ["Y"], name="ct", **attrs)
    return model([node], {"X": x_shape}, inits)
