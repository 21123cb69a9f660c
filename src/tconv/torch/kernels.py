"""The computations behind tconv's operators: the core's methods, and im2col read both ways.

Three maps relate the small side ``x`` (``N, C_s, *i``), the large side ``y`` (``N, C_l, *o``) and
the weight ``w`` (``C_s, C_l/G, *k``) through the geometry's ``o = i·s + t·d − b`` (see
:mod:`tconv.geometry`); each is computed here, with no torch convolution kernel:

    transpose            y[n, cl, i·s + t·d − b] += w[cs, cl, t] · x[n, cs, i]     (a core method)
    conv                 x[n, cs, i] = Σ_{cl, t} w[cs, cl, t] · y[n, cl, i·s + t·d − b]
    weight_correlation   w[cs, cl, t] = Σ_{n, i} x[n, cs, i] · y[n, cl, i·s + t·d − b]

``transpose`` runs one of the core's five methods on the tensors — ``gemm`` in the tiled form of
:mod:`tconv.torch.gemm`. ``conv`` and ``weight_correlation`` have two methods each: ``"direct"``,
the core's :func:`~tconv.methods.correlate.correlate` (for the weight, with the batch as channels),
and ``"gemm"``, the core's GEMM + col2im read backwards — im2col (:func:`columns`), then one matrix
product per group, a block of images at a time (:mod:`tconv.torch.gemm`) unless the caller passes
the whole column buffer. Every result is :func:`fresh`: a new tensor, not a view, laid out as torch.nn
lays out its convolutions' outputs (:func:`memory_format`), so in-place operations on it are safe.
"""

from __future__ import annotations

import math

import torch
from array_api_compat import array_namespace

from tconv import methods as core_methods
from tconv.arrays import check_memory, compute_dtype
from tconv.geometry import Geometry
from tconv.methods.correlate import correlate
from tconv.torch import gemm as tiled
from tconv.torch.gemm import columns

__all__ = [
    "transpose",
    "conv",
    "weight_correlation",
    "columns",
    "memory_format",
    "dense_format",
    "fresh",
    "result_dtype",
    "accumulation_dtype",
    "CONV_METHODS",
]

#: How :func:`conv` and :func:`weight_correlation` compute: the core's ``correlate``, or im2col + one product.
CONV_METHODS = ("direct", "gemm")


def memory_format(*tensors) -> torch.memory_format:
    """torch.nn's rule for a convolution's output: channels-last when the input or the weight is.

    ATen's transposed convolutions return ``channels_last`` (4-D) or ``channels_last_3d`` (5-D)
    output when either operand suggests that format, and contiguous output otherwise. (In 3-D its
    CPU fallback kernel, which ATen picks for float64 and for some small shapes instead of oneDNN,
    returns contiguous output whatever the input; tconv keeps the input's format there too.)
    """
    for t in tensors:
        fmt = _suggest_memory_format(t)
        if fmt != torch.contiguous_format:
            return fmt
    return torch.contiguous_format


def dense_format(t: torch.Tensor) -> torch.memory_format:
    """ATen's ``suggest_memory_format`` from public calls: channels-last when ``t`` has exactly the
    channels-last strides and not also the default ones (ATen's tie-break on axes of size 1), or is
    dense channels-last but not dense by default. It agrees with ATen on dense tensors; on other
    strides (a slice) it may say contiguous where ATen says channels-last — the output's strides,
    never its values, would then differ from torch.nn's."""
    channels_last = {4: torch.channels_last, 5: torch.channels_last_3d}.get(t.dim())
    if channels_last is None:
        return torch.contiguous_format
    default, last = _strides(t.shape, range(t.dim() - 1, -1, -1)), _strides(t.shape, (1, *range(t.dim() - 1, 1, -1), 0))
    if t.stride() == last != default or (t.is_contiguous(memory_format=channels_last) and not t.is_contiguous()):
        return channels_last
    return torch.contiguous_format


def _strides(shape, order) -> tuple[int, ...]:
    """The strides of a dense tensor of ``shape`` whose axes, fastest first, are ``order``."""
    strides, step = [0] * len(shape), 1
    for axis in order:
        strides[axis], step = step, step * max(shape[axis], 1)
    return tuple(strides)


try:  # the stride test ATen applies, in Python: private, so dense_format stands in for a torch without it
    from torch._prims_common import suggest_memory_format as _suggest_memory_format
except ImportError:  # pragma: no cover - a torch that moved it
    _suggest_memory_format = dense_format


def fresh(y: torch.Tensor, fmt: torch.memory_format) -> torch.Tensor:
    """``y`` as a tensor of its own — not a view of a larger canvas — dense in ``fmt``.

    The methods may return a window of their uncropped canvas; an operator's output must own its
    storage (autograd forbids in-place changes to a view made inside a custom function, and
    ``.view`` needs dense strides), and its strides must be the ones the fake implementation says.
    """
    want = torch.empty(y.shape, dtype=y.dtype, device="meta", memory_format=fmt).stride()
    if y.stride() != want:  # a cropped window of a canvas, or another layout: one copy
        return torch.empty(y.shape, dtype=y.dtype, device=y.device, memory_format=fmt).copy_(y)
    # Dense already (a reshape of a product, a canvas kept whole): detach() is the same storage
    # without the view relation, so nothing is copied.
    is_view = getattr(y, "_is_view", None)  # undocumented; without it detach() is right for any y, view or not
    return y.detach() if is_view is None or is_view() else y


# ---- the forward computations, in the compute dtype (float16/bfloat16 accumulate in float32) -----


def _dtypes(*tensors):
    return compute_dtype(array_namespace(*tensors), *tensors)


def result_dtype(*tensors) -> torch.dtype:
    """The dtype the computations return for these operands (the core's policy)."""
    return _dtypes(*tensors)[1]


def accumulation_dtype(*tensors) -> torch.dtype:
    """The dtype they compute in: float16/bfloat16 accumulate in float32."""
    return _dtypes(*tensors)[0]


def _with_bias(y, bias):
    # y is a tensor of this module's making (maybe a window of a canvas), so the bias is added in place.
    return y if bias is None else y.add_(bias.to(y.dtype).reshape(-1, *(1,) * (y.ndim - 2)))


def transpose(x, weight, bias, g: Geometry, method: str):
    """``y = T_w x + b`` by the core's ``method`` (``x`` batched, ``g`` transposed)."""
    compute, result = _dtypes(x, weight)
    fmt = memory_format(x, weight)
    if x.shape[0] == 0:
        return torch.empty((0, g.large_channels, *g.large), dtype=result, device=x.device, memory_format=fmt)
    check_memory(
        f"conv_transpose to shape {(x.shape[0], g.large_channels, *g.large)} with method={method!r}",
        math.prod((x.shape[0], g.large_channels, *g.large)) + core_methods.workspace(method, g),
        compute.itemsize,
    )
    x, weight = x.to(compute), weight.to(compute)
    y = tiled.transpose(x, weight, g) if method == "gemm" else core_methods.run(method, x, weight, g)
    return fresh(_with_bias(y, bias).to(result), fmt)


def conv(y, weight, bias, g: Geometry, method: str, cols=None):
    """``x = T_wᵀ y + b``: the convolution reading the large side ``y`` (batched); ``cols``, if
    given, is ``columns(y, g)`` already computed."""
    compute, result = _dtypes(y, weight)
    fmt = memory_format(y, weight)
    n, groups = y.shape[0], g.groups
    shape = (n, g.small_channels, *g.small)
    if n == 0:
        return torch.empty(shape, dtype=result, device=y.device, memory_format=fmt)
    y, weight = y.to(compute), weight.to(compute)
    if method == "direct":  # the core's convolution: one matrix product per kernel tap
        x = correlate(
            y,
            weight,
            stride=g.stride,
            dilation=g.dilation,
            groups=groups,
            start=tuple(-b for b in g.begin),
            size=g.small,
        )
    elif cols is None:  # "gemm", a block of images at a time
        x = tiled.conv(y, weight, g)
    else:  # "gemm": x[G, cs, (n, i)] = Σ_{(cl, t)} w[G, cs, (cl, t)] · cols[G, (cl, t), (n, i)]
        x = weight.reshape(groups, g.small_channels // groups, -1) @ cols.to(compute)
        x = x.reshape(g.small_channels, n, *g.small).transpose(0, 1)
    return fresh(_with_bias(x, bias).to(result), fmt)


def weight_correlation(x, y, g: Geometry, method: str, cols=None):
    """``w[cs, cl, t] = Σ_{n, i} x[n, cs, i] · y[n, cl, i·s + t·d − b]`` (``x`` small side, ``y`` large)."""
    compute, result = _dtypes(x, y)
    groups, n = g.groups, x.shape[0]
    cs, cl = g.small_channels // groups, g.large_channels // groups
    if n == 0:  # an empty sum
        return torch.zeros(g.weight_shape, dtype=result, device=x.device)
    x, y = x.to(compute), y.to(compute)
    if method == "direct":
        # The core's correlate, batch as channels. Its definition, out[m, G·C'+c, q] =
        # Σ_{c', u} ker[G·C'+c, c', u] · inp[m, G·C+c', start + q·stride + u·dilation], is this sum
        # with  m = cl,  c' = n,  c = cs,  q = t,  u = i:  inp[cl, G·N + n] = y[n, G·C_l/G + cl],
        # ker[G·C_s/G + cs, n] = x[n, G·C_s/G + cs], stride d, dilation s, start −b, size k.
        # Its "kernel" is the whole input x, so its tap loop runs Π i times: a reference, not fast.
        inp = (
            y.reshape(n, groups, cl, *g.large).permute(2, 1, 0, *range(3, 3 + g.ndim)).reshape(cl, groups * n, *g.large)
        )
        ker = x.transpose(0, 1)
        w = correlate(
            inp,
            ker,
            stride=g.dilation,
            dilation=g.stride,
            groups=groups,
            start=tuple(-b for b in g.begin),
            size=g.kernel,
        )
        return fresh(w.transpose(0, 1).reshape(g.weight_shape).to(result), torch.contiguous_format)
    if cols is None:  # "gemm", a block of images at a time
        return fresh(tiled.weight_correlation(x, y, g).to(result), torch.contiguous_format)
    # "gemm": w[G, cs, (cl, t)] = Σ_{(n, i)} x[G, cs, (n, i)] · cols[G, (cl, t), (n, i)], one product.
    xs = x.reshape(n, groups, cs, math.prod(g.small)).permute(1, 2, 0, 3).reshape(groups, cs, -1)
    w = xs @ cols.to(compute).mT
    return fresh(w.reshape(g.weight_shape).to(result), torch.contiguous_format)


def conv_and_correlation(y, weight, x, g: Geometry):
    """``(conv(y, weight), weight_correlation(x, y))`` by ``gemm`` from one im2col per tile
    (:func:`tconv.torch.gemm.adjoints`): the two gradients of a transposed convolution, whose
    backward needs both from the same ``y``. Operands of one dtype."""
    compute, result = _dtypes(y, weight)
    if y.shape[0] == 0:
        return conv(y, weight, None, g, "gemm"), weight_correlation(x, y, g, "gemm")
    grad_x, grad_w = tiled.adjoints(y.to(compute), weight.to(compute), x.to(compute), g)
    return (
        fresh(grad_x.to(result), memory_format(y, weight)),
        fresh(grad_w.to(result), torch.contiguous_format),
    )
