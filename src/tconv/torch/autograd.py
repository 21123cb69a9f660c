"""Three ``torch.autograd.Function``s that are each other's derivatives.

A transposed convolution ``y = T_w x`` is linear in ``x`` and in ``w``. With the small side ``x``
(``N, C_s, *i``), the large side ``y`` (``N, C_l, *o``), the weight ``w`` (``C_s, C_l/G, *k``) and the
geometry's map ``o = i·s + t·d − b`` (see :mod:`tconv.geometry`):

    ConvTranspose       y[n, cl, i·s + t·d − b] += w[cs, cl, t] · x[n, cs, i]
    Conv                x[n, cs, i] = Σ_{cl, t} w[cs, cl, t] · y[n, cl, i·s + t·d − b]     (its adjoint)
    WeightCorrelation   w[cs, cl, t] = Σ_{n, i} x[n, cs, i] · y[n, cl, i·s + t·d − b]

(channels ``cs``, ``cl`` of one group; groups never mix). Each is bilinear in its two tensor
arguments and each partial derivative is one of the three again:

    ConvTranspose(x, w):      ∂/∂x = Conv(gy, w)               ∂/∂w = WeightCorrelation(x, gy)
    Conv(y, w):               ∂/∂y = ConvTranspose(gx, w)      ∂/∂w = WeightCorrelation(gx, y)
    WeightCorrelation(x, y):  ∂/∂x = Conv(y, gw)               ∂/∂y = ConvTranspose(x, gw)

Because every ``backward`` below is written with these Functions (never with raw tensor code), the
backward pass is itself differentiable, to any order: double backward (``gradgradcheck``, StyleGAN2's
path-length penalty) needs nothing more.

The forward computations are tconv's own; no torch convolution kernel is called. ``ConvTranspose``
runs one of the core's five methods on the tensors. ``Conv`` and ``WeightCorrelation`` have two
methods each: ``"direct"``, the core's :func:`~tconv.correlate.correlate` (for the weight, with the
batch as channels), and ``"gemm"`` (the default), the core's GEMM + col2im read backwards — im2col
(:func:`columns`), then one matrix product per group.
"""

from __future__ import annotations

import math

from array_api_compat import array_namespace

import torch
from tconv import methods as core_methods
from tconv.arrays import check_memory, compute_dtype, window
from tconv.geometry import Geometry
from tconv.methods.correlate import correlate

__all__ = ["ConvTranspose", "Conv", "WeightCorrelation", "columns", "CONV_METHODS"]

#: How :class:`Conv` and :class:`WeightCorrelation` compute: the core's ``correlate``, or im2col + one product.
CONV_METHODS = ("direct", "gemm")


def columns(large: torch.Tensor, g: Geometry) -> torch.Tensor:
    """im2col: ``cols[G, cl·Πk + t, n·Πi + i] = full[n, G·C_l/G + cl, i·s + t·d]``, ``full[f] = large[f − b]``.

    The core's ``gemm`` writes a column buffer and adds it into the output (col2im); this reads the
    large side back into that buffer — col2im's adjoint. ``Tensor.unfold(axis, k_eff, s)`` is the
    view of every window ``[i·s, i·s + k_eff)``, and ``[..., ::d]`` keeps its ``k`` taps; one copy
    then lays the buffer out with the batch folded into the columns, ready for one matrix product
    per group. Positions outside ``large`` read zeros (``window``), which is every padding form.

    >>> from tconv.arguments import transpose_geometry
    >>> g = transpose_geometry((1, 1, 2), (1, 1, 3), stride=2)      # o = i·2 + t
    >>> columns(torch.arange(5.0).reshape(1, 1, 5), g)               # rows t = 0, 1, 2; columns i
    tensor([[[0., 2.],
             [1., 3.],
             [2., 4.]]])
    """
    n, nd, groups = large.shape[0], g.ndim, g.groups
    full = window(large, tuple(-b for b in g.begin), g.full)
    full = full.reshape(n, groups, g.large_channels // groups, *g.full)
    for axis, (ke, s) in enumerate(zip(g.effective_kernel, g.stride)):
        full = full.unfold(3 + axis, ke, s)  # (..., i, ..., k_eff): F = (i−1)·s + k_eff gives i windows
    taps = full[(..., *(slice(None, None, d) for d in g.dilation))]  # (n, G, C_l/G, *i, *k)
    taps = taps.permute(1, 2, *range(3 + nd, 3 + 2 * nd), 0, *range(3, 3 + nd))  # (G, C_l/G, *k, n, *i)
    return taps.reshape(groups, g.large_channels // groups * g.taps, n * math.prod(g.small))


# ---- the forward computations, in the compute dtype (float16/bfloat16 accumulate in float32) -----


def _dtypes(*tensors):
    return compute_dtype(array_namespace(*tensors), *tensors)


def _with_bias(y, bias):
    # y is always a fresh tensor of this module's making, so the bias is added in place.
    return y if bias is None else y.add_(bias.to(y.dtype).reshape(-1, *(1,) * (y.ndim - 2)))


def _transpose(x, weight, bias, g: Geometry, method: str):
    """``y = T_w x + b`` by the core's ``method`` (``x`` batched, ``g`` transposed)."""
    compute, result = _dtypes(x, weight)
    if x.shape[0] == 0:
        return torch.zeros((0, g.large_channels, *g.large), dtype=result, device=x.device)
    check_memory(
        f"conv_transpose to shape {(x.shape[0], g.large_channels, *g.large)} with method={method!r}",
        math.prod((x.shape[0], g.large_channels, *g.large)) + core_methods.workspace(method, g),
        compute.itemsize,
    )
    y = core_methods.run(method, x.to(compute), weight.to(compute), g)
    return _with_bias(y, bias).to(result)


def _conv(y, weight, bias, g: Geometry, method: str, cols=None):
    """``x = T_wᵀ y + b``: the convolution reading the large side ``y`` (batched); ``cols``, if
    given, is ``columns(y, g)`` already computed."""
    compute, result = _dtypes(y, weight)
    n, groups = y.shape[0], g.groups
    shape = (n, g.small_channels, *g.small)
    if n == 0:
        return torch.zeros(shape, dtype=result, device=y.device)
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
    else:  # "gemm": x[G, cs, (n, i)] = Σ_{(cl, t)} w[G, cs, (cl, t)] · cols[G, (cl, t), (n, i)]
        check_memory("the column buffer of conv", n * g.large_channels * g.taps * math.prod(g.small), compute.itemsize)
        x = weight.reshape(groups, g.small_channels // groups, -1) @ (
            columns(y, g) if cols is None else cols.to(compute)
        )
        x = x.reshape(g.small_channels, n, *g.small).transpose(0, 1).contiguous()
    return _with_bias(x, bias).to(result)


def _weight_correlation(x, y, g: Geometry, method: str, cols=None):
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
        return w.transpose(0, 1).reshape(g.weight_shape).to(result)
    # "gemm": w[G, cs, (cl, t)] = Σ_{(n, i)} x[G, cs, (n, i)] · cols[G, (cl, t), (n, i)], one product.
    check_memory(
        "the column buffer of the weight gradient", n * g.large_channels * g.taps * math.prod(g.small), compute.itemsize
    )
    xs = x.reshape(n, groups, cs, math.prod(g.small)).permute(1, 2, 0, 3).reshape(groups, cs, -1)
    w = xs @ (columns(y, g) if cols is None else cols.to(compute)).mT
    return w.reshape(g.weight_shape).to(result)


def _oriented(g: Geometry, transposed: bool) -> Geometry:
    return g if g.transposed == transposed else g.adjoint()


def _bias_grad(grad, needed):
    return grad.sum(dim=(0, *range(2, grad.ndim))) if needed else None


# ---- the Functions: each forward, and right below it its backward as the other two -----------------
#
# ``methods`` is the pair (transposed-convolution method, convolution method) used for every
# transposed convolution and convolution computed in this call's backward passes, at any order.
# ``cols`` is an optional, non-differentiable cache: ``columns(y, g)`` of the large-side argument,
# computed once when both gradients of a ConvTranspose read it.


def _shared_columns(large, g: Geometry, methods, both_needed: bool):
    """``columns(large, g)`` when two Functions are about to read it, else None (each makes its own)."""
    if not both_needed or methods[1] != "gemm" or large.shape[0] == 0:
        return None
    with torch.no_grad():
        compute, _ = _dtypes(large)
        return columns(large.detach().to(compute), g)


class ConvTranspose(torch.autograd.Function):
    """``y = T_w x + b`` with the core's method ``methods[0]``; ``x`` batched, ``g`` its geometry."""

    @staticmethod
    def forward(ctx, x, weight, bias, g: Geometry, methods: tuple):
        ctx.save_for_backward(x, weight)
        ctx.g, ctx.methods, ctx.has_bias = g, methods, bias is not None
        return _transpose(x, weight, bias, g, methods[0])

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        g, methods = ctx.g, ctx.methods
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        cols = _shared_columns(grad, g, methods, need_x and need_w)
        grad_x = Conv.apply(grad, weight, None, g.adjoint(), methods, cols) if need_x else None  # T_wᵀ gy
        grad_w = WeightCorrelation.apply(x, grad, g, methods, cols) if need_w else None  # Σ x ⊗ gy
        return grad_x, grad_w, _bias_grad(grad, need_b and ctx.has_bias), None, None


class Conv(torch.autograd.Function):
    """``x = T_wᵀ y + b`` (the convolution, adjoint of :class:`ConvTranspose`) by ``methods[1]``."""

    @staticmethod
    def forward(ctx, y, weight, bias, g: Geometry, methods: tuple, cols=None):
        ctx.save_for_backward(y, weight)
        ctx.g, ctx.methods, ctx.has_bias = g, methods, bias is not None
        return _conv(y, weight, bias, g, methods[1], cols)

    @staticmethod
    def backward(ctx, grad):
        y, weight = ctx.saved_tensors
        g, methods = ctx.g, ctx.methods
        need_y, need_w, need_b = ctx.needs_input_grad[:3]
        grad_y = ConvTranspose.apply(grad, weight, None, g.adjoint(), methods) if need_y else None  # T_w gx
        grad_w = WeightCorrelation.apply(grad, y, g, methods) if need_w else None  # Σ gx ⊗ y
        return grad_y, grad_w, _bias_grad(grad, need_b and ctx.has_bias), None, None, None


class WeightCorrelation(torch.autograd.Function):
    """``w[cs, cl, t] = Σ_{n, i} x[n, cs, i] · y[n, cl, i·s + t·d − b]``: the weight gradient of both."""

    @staticmethod
    def forward(ctx, x, y, g: Geometry, methods: tuple, cols=None):
        ctx.save_for_backward(x, y)
        ctx.g, ctx.methods = g, methods
        return _weight_correlation(x, y, g, methods[1], cols)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        g, methods = ctx.g, ctx.methods
        need_x, need_y = ctx.needs_input_grad[:2]
        grad_x = Conv.apply(y, grad, None, _oriented(g, False), methods) if need_x else None  # T_gwᵀ y
        grad_y = ConvTranspose.apply(x, grad, None, _oriented(g, True), methods) if need_y else None  # T_gw x
        return grad_x, grad_y, None, None, None
