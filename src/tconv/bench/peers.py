"""The benchmark's peers: PyTorch's and onnxruntime's CPU kernels, as callables on a case's arrays.

Each maker returns ``(call, None)``, or ``(None, why)`` where the peer cannot express the layer
(torch: no 4-D and beyond, or an asymmetric crop it cannot spell; onnxruntime: zeros appended at the
end, i.e. negative pads). Both get the same arrays as tconv, and the same number of threads.
"""

from __future__ import annotations

import importlib.util

from tconv.interop.frameworks import torch_arguments

__all__ = ["torch_call", "onnxruntime_call", "optional"]


def torch_call(torch, case):
    """``torch.nn.functional.conv_transpose{1,2,3}d`` with :func:`~tconv.interop.frameworks.torch_arguments`,
    plus a slice where tconv's crop is asymmetric."""
    g = case.geometry
    if g.ndim > 3:
        return None, "n/a (torch has 1-3-D only)"
    fn = getattr(torch.nn.functional, f"conv_transpose{g.ndim}d")
    t = torch_arguments(g)
    if any(s < 0 or s + n > m for s, n, m in zip(t.start, t.size, t.torch_size)):
        return None, "n/a (crop not expressible)"
    tx, tw = torch.from_numpy(case.x), torch.from_numpy(case.w)
    crop = (Ellipsis, *(slice(s, s + n) for s, n in zip(t.start, t.size)))
    kw = dict(stride=g.stride, padding=t.padding, output_padding=t.output_padding, groups=g.groups, dilation=g.dilation)

    def call():
        with torch.no_grad():
            return fn(tx, tw, **kw)[crop]

    return call, None


def onnxruntime_call(ort, case, threads: int):
    """An onnxruntime session of one ``ConvTranspose`` node, the weight an initializer."""
    g = case.geometry
    if any(e < 0 for e in g.end):
        return None, "n/a (negative pads)"
    from onnx import TensorProto, helper, numpy_helper

    node = helper.make_node(
        "ConvTranspose",
        ["x", "w"],
        ["y"],
        kernel_shape=list(g.kernel),
        strides=list(g.stride),
        dilations=list(g.dilation),
        pads=[*g.begin, *g.end],
        group=g.groups,
    )
    graph = helper.make_graph(
        [node],
        "tconv_bench",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(case.x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(case.w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    feed = {"x": case.x}
    return (lambda: session.run(None, feed)[0]), None


def optional(name: str):
    if importlib.util.find_spec(name) is None:
        return None
    try:
        return __import__(name)
    except Exception:  # a broken install counts as missing
        return None
