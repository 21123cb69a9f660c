"""``conv_transpose`` and ``conv`` on torch tensors: the core's signatures, differentiable.

Arguments are checked by the core into a :class:`~tconv.geometry.Geometry` (so every padding form,
``output_size`` and the error messages are the core's) and the tensors by torch.nn's rules (one
device, one dtype, autocast), then the batched tensors go to tconv's operators through
:mod:`tconv.torch.autograd`. ``method="native"`` calls PyTorch's own kernel instead, for comparison.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

from tconv import arguments_cache, padding_modes
from tconv.errors import TConvTypeError
from tconv.geometry import Geometry
from tconv.interop.frameworks import torch_arguments
from tconv.methods import METHODS, check_method, choose
from tconv.torch import autograd
from tconv.torch.kernels import CONV_METHODS
from tconv.torch.ops import geometry_tail

__all__ = ["conv_transpose", "conv", "METHODS", "CONV_METHODS", "MismatchError"]


class MismatchError(TConvTypeError, RuntimeError):
    """Operands torch.nn would refuse too (it raises ``RuntimeError``): still a :class:`TConvError`."""


def _tensors(x, weight, bias):
    """The three tensors checked by torch.nn's rules: one device, one dtype for input and weight
    (torch.nn refuses a float64 input to a float32 layer), the bias cast to it. Under
    ``torch.autocast`` every float32/float16/bfloat16 operand is first cast to the autocast dtype,
    as torch.nn's convolutions are."""
    named = {"input": x, "weight": weight, "bias": bias}
    for name, t in named.items():
        if t is not None and not isinstance(t, torch.Tensor):
            raise TConvTypeError(f"tconv.torch takes torch tensors; {name} is {type(t).__name__}")
    present = {n: t for n, t in named.items() if t is not None}
    if len({t.device for t in present.values()}) > 1:
        devices = ", ".join(f"{n} on {t.device}" for n, t in present.items())
        raise MismatchError(f"input, weight and bias must be on one device, as torch.nn requires; got {devices}")
    if torch.amp.is_autocast_available(x.device.type) and torch.is_autocast_enabled(x.device.type):
        low = torch.get_autocast_dtype(x.device.type)
        x, weight, bias = (None if t is None else t.to(low) if _autocast_eligible(t) else t for t in (x, weight, bias))
    for name, t in present.items():
        if t.is_complex() or t.dtype == torch.bool:
            raise TConvTypeError(f"{name} has dtype {t.dtype}: tconv.torch computes with real numbers")
    if x.dtype != weight.dtype:
        raise MismatchError(
            f"input has dtype {x.dtype} but weight has dtype {weight.dtype}: torch.nn refuses mixed dtypes too; "
            f"convert one (the layer with .to({x.dtype}), or the input with .to({weight.dtype}))"
        )
    return x, weight, None if bias is None else bias.to(x.dtype)


def _autocast_eligible(t) -> bool:
    # ATen's autocast casts floating tensors other than float64 to the lower precision.
    return t.is_floating_point() and t.dtype != torch.float64


def _batched(x, g: Geometry):
    """``x`` with a batch axis, and the geometry of the batched call (the Functions see only these)."""
    xb = x if g.batch is not None else x.unsqueeze(0)
    return xb, dataclasses.replace(g, batch=xb.shape[0])


def conv_transpose(
    x,
    weight,
    bias=None,
    stride=1,
    padding=0,
    output_padding=0,
    groups=1,
    dilation=1,
    *,
    output_size=None,
    padding_mode="zeros",
    method="auto",
):
    """:func:`tconv.conv_transpose` on torch tensors (any device; float16/bfloat16/32/64), differentiable.

    Per axis ``o = (i−1)·s + d·(k−1) + 1 − b − e + op``, with ``padding`` an int, per-axis ints,
    ``(b, e)`` pairs, ``"same"`` (``o = i·s``) or ``"valid"``. ``method`` is one of the core's
    :data:`~tconv.METHODS`, ``"auto"``, or ``"native"`` (PyTorch's own kernel, for comparison).
    float16/bfloat16 are accumulated in float32 and returned in their own dtype. ``padding_mode``
    ``"circular"``, ``"reflect"`` or ``"replicate"`` makes it the adjoint of :func:`conv` with that
    mode (:mod:`tconv.padding_modes`): the uncropped output with the padded cells folded back.

    >>> import torch
    >>> x = torch.tensor([[[[2., 2.], [0., 2.]]]], requires_grad=True)
    >>> y = conv_transpose(x, torch.tensor([[[[1., 0.], [0., 1.]]]]))
    >>> y.detach()
    tensor([[[[2., 2., 0.],
              [0., 4., 2.],
              [0., 0., 2.]]]])
    >>> y.sum().backward(); x.grad           # each input meets both taps: Σ_t w[t] = 2
    tensor([[[[2., 2.],
              [2., 2.]]]])
    >>> conv_transpose(torch.ones(1, 1, 3), torch.ones(1, 1, 3), stride=2, padding="same").shape
    torch.Size([1, 1, 6])
    """
    check_method(method, METHODS, ("auto", "native"))
    x, weight, bias = _tensors(x, weight, bias)
    g = arguments_cache.transpose_geometry(
        x.shape,
        weight.shape,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        output_size=output_size,
        bias_shape=None if bias is None else bias.shape,
        allow_empty=padding_mode == "zeros",  # torch.nn's empty outputs; a padding mode has no cells to fill
    )
    if padding_mode != "zeros":
        return _transpose_with_mode(x, weight, bias, g, padding_mode, method)
    if 0 in g.large:
        return _empty_transpose(x, weight, bias, g, method)
    return _transpose(x, weight, bias, g, method)


def _transpose(x, weight, bias, g: Geometry, method: str):
    """The transposed convolution of a checked, non-empty geometry by ``method``."""
    if method == "native":
        return _native_transpose(x, weight, bias, g)
    xb, gb = _batched(x, g)
    methods = (choose(gb)[0] if method == "auto" else method, "gemm")
    y = autograd.conv_transpose(xb, weight, bias, geometry_tail(gb, methods))
    return y if g.batch is not None else y[0]


def _empty_transpose(x, weight, bias, g: Geometry, method: str):
    """torch.nn's output with a spatial size of 0 (the crop takes all of ``F``): the empty slice of
    the one-cell window ``[0, 1)`` on those axes. It stays on autograd's graph through the same
    operators, so the gradients are torch.nn's — zeros for input and weight, the empty sum (zeros)
    for the bias — in every mode of differentiation and under every transform."""
    one = dataclasses.replace(
        g, large=tuple(o or 1 for o in g.large), begin=tuple(b if o else 0 for o, b in zip(g.large, g.begin))
    )
    return _transpose(x, weight, bias, one, method)[(..., *(slice(None) if o else slice(0, 0) for o in g.large))]


def conv(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, padding_mode="zeros", method="auto"):
    """:func:`tconv.conv` on torch tensors, differentiable: the adjoint of :func:`conv_transpose`.

    ``x[n, cs, i] = Σ w[cs, cl, t] · y[n, cl, i·s + t·d − b]`` with ``weight`` ``(C_out, C_in/G, *k)``.
    ``method``: ``"direct"`` (the core's tap loop), ``"gemm"`` (im2col + one product; ``"auto"``),
    or ``"native"`` (PyTorch's kernel). ``padding_mode`` fills the padding as PyTorch's ``Conv`` does.

    >>> import torch
    >>> conv(torch.tensor([[[1., 2., 3., 4.]]]), torch.tensor([[[1., 10.]]]))
    tensor([[[21., 32., 43.]]])
    """
    check_method(method, CONV_METHODS, ("auto", "native"))
    x, weight, bias = _tensors(x, weight, bias)
    g = arguments_cache.conv_geometry(
        x.shape, weight.shape, stride, padding, dilation, groups, bias_shape=None if bias is None else bias.shape
    )
    if padding_mode != "zeros":  # P_m x, then the convolution without padding
        padded = padding_modes.pad(x, padding_modes.mode_pairs(g), padding_mode)
        return conv(padded, weight, bias, g.stride, 0, g.dilation, g.groups, method=method)
    if method == "native":
        return _native_conv(x, weight, bias, g)
    xb, gb = _batched(x, g)
    methods = (choose(gb.adjoint())[0], "gemm" if method == "auto" else method)
    y = autograd.conv(xb, weight, bias, geometry_tail(gb, methods))
    return y if g.batch is not None else y[0]


def _transpose_with_mode(x, weight, bias, g: Geometry, padding_mode: str, method: str):
    """``P_mᵀ`` (:func:`tconv.padding_modes.fold`) of the uncropped transposed convolution, plus bias:
    slicing, flips and sums of torch tensors, which autograd differentiates to any order itself."""
    padding_modes.check_mode(padding_mode, g.large, padding_modes.mode_pairs(g))  # before computing
    full = conv_transpose(x, weight, None, g.stride, 0, 0, g.groups, g.dilation, method=method)
    compute = torch.float32 if full.dtype in (torch.float16, torch.bfloat16) else full.dtype
    y = padding_modes.fold(full.to(compute), g, padding_mode)
    y = y if bias is None else y + bias.to(compute).reshape(-1, *(1,) * g.ndim)
    return y.to(full.dtype)


# ---- PyTorch's own kernels, for comparison ----------------------------------------------------------


def _window(t, begin, size):
    """``t[..., b : b + n]`` per trailing axis, zeros past either end: the part inside ``t`` sliced,
    then ``F.pad``. Unlike the core's ``window`` it stays on autograd's graph even when the window
    misses ``t`` entirely (an empty slice, padded)."""
    nd = len(size)
    inside, pads = [], []
    for b, n, have in zip(begin, size, t.shape[t.ndim - nd :]):
        before = max(0, min(0, b + n) - b)  # window cells left of t
        lo = min(max(b, 0), have)
        hi = max(min(b + n, have), lo)  # [lo, hi): the cells inside t, maybe none
        inside.append(slice(lo, hi))
        pads = [before, n - before - (hi - lo)] + pads  # F.pad lists the last axis first
    return F.pad(t[(..., *inside)], pads)


def _native_transpose(x, weight, bias, g: Geometry):
    """PyTorch's ``conv_transpose{n}d`` with :func:`~tconv.interop.frameworks.torch_arguments`: exact
    where PyTorch can say the crop, else its nearest output and the window still to cut."""
    fn = getattr(F, f"conv_transpose{g.ndim}d")
    t = torch_arguments(g)
    if t.exact:
        return fn(x, weight, bias, g.stride, t.padding, t.output_padding, g.groups, g.dilation)
    y = _window(fn(x, weight, None, g.stride, t.padding, t.output_padding, g.groups, g.dilation), t.start, t.size)
    return y if bias is None else y + bias.reshape(-1, *(1,) * g.ndim)


def _native_conv(x, weight, bias, g: Geometry):
    """PyTorch's ``conv{n}d`` on the window of ``x`` the convolution reads, ``[−b, −b + F)``."""
    xw = _window(x, tuple(-b for b in g.begin), g.full)
    return getattr(F, f"conv{g.ndim}d")(xw, weight, bias, g.stride, 0, g.dilation, g.groups)
