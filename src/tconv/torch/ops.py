"""tconv's computations registered as PyTorch operators: ``torch.ops.tconv.*``.

An operator is what ``torch.compile``, ``torch.export``, ``torch.jit.trace``, ``torch.onnx.export``
and ``torch.func.vmap`` see as one opaque node with a known output shape, instead of the Python
loops of the core's methods. Four are defined here, each with its computation (:mod:`kernels`),
its *fake* implementation (the output's shape, dtype and strides, computing nothing) and its
``vmap`` rule; their derivatives are registered by :mod:`tconv.torch.autograd`.

Every operator takes a batched tensor and the same geometry tail ``stride, dilation, begin, end,
groups, method, conv_method`` — the transposed convolution's ``o = i·s + t·d − b`` with crops
``b`` (``begin``) and ``e`` (``end``) of its full output ``F = (i−1)·s + k_eff``. The convolution
and the weight correlation of that map take the *same* tail, so the adjoint of an operator is
another operator with the very same arguments. The sizes are read from the tensors:

    conv_transpose(x, w, bias)        x (N, C_s, *i) → (N, C_l, *o),   o = F − b − e
    conv(y, w, bias, cols)            y (N, C_l, *o) → (N, C_s, *i),   i = (o + b + e − k_eff)/s + 1
    weight_correlation(x, y, cols)    → (C_s, C_l/G, *k),              k_eff = o + b + e − (i−1)·s
    columns(y, kernel)                im2col of the large side, shared by the last two

>>> import torch, tconv.torch
>>> torch.ops.tconv.conv_transpose(torch.ones(1, 1, 3), torch.ones(1, 1, 2), None, [2], [1], [0], [0], 1, "gemm", "gemm")
tensor([[[1., 1., 1., 1., 1., 1.]]])
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from tconv.geometry import Geometry, effective_kernel, full_size
from tconv.torch import kernels

__all__ = ["conv_transpose", "conv", "weight_correlation", "columns", "Tail", "geometry_tail"]


@dataclass(frozen=True)
class Tail:
    """The operators' trailing arguments: the map ``o = i·s + t·d − b`` with crops ``begin``, ``end``,
    and the methods. One object, not a tuple of lists, so that ``torch.func`` treats it as one
    constant rather than as tensors to map over."""

    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    begin: tuple[int, ...]
    end: tuple[int, ...]
    groups: int
    method: str
    conv_method: str

    @classmethod
    def of(cls, *args) -> "Tail":
        """From the operators' own argument values (lists and scalars)."""
        return cls(*(tuple(a) if isinstance(a, (list, tuple)) else a for a in args))

    def geometry(self) -> tuple:
        return (list(self.stride), list(self.dilation), list(self.begin), list(self.end), self.groups)

    def args(self) -> tuple:
        return (*self.geometry(), self.method, self.conv_method)


def geometry_tail(g: Geometry, methods: tuple[str, str]) -> Tail:
    """The operators' trailing arguments for ``g`` (either direction) and the two methods."""
    return Tail(g.stride, g.dilation, g.begin, g.end, g.groups, *methods)


def _transposed(x_shape, w_shape, stride, dilation, begin, end, groups) -> Geometry:
    """The geometry of ``conv_transpose``: ``o = F − b − e``."""
    n, cs, *small = x_shape
    kernel = tuple(w_shape[2:])
    full = [full_size(i, s, effective_kernel(k, d)) for i, s, k, d in zip(small, stride, kernel, dilation)]
    large = tuple(f - b - e for f, b, e in zip(full, begin, end))
    args = (tuple(small), large, kernel, tuple(stride), tuple(dilation), tuple(begin))
    return Geometry(True, n, cs, w_shape[1] * groups, groups, *args)


def convolution_geometry(y_shape, w_shape, stride, dilation, begin, end, groups) -> Geometry:
    """The geometry of ``conv``: ``i = (o + b + e − k_eff)/s + 1`` (exact: ``e`` is the geometry's own)."""
    n, cl, *large = y_shape
    kernel = tuple(w_shape[2:])
    ke = [effective_kernel(k, d) for k, d in zip(kernel, dilation)]
    small = tuple((o + b + e - k) // s + 1 for o, b, e, k, s in zip(large, begin, end, ke, stride))
    args = (small, tuple(large), kernel, tuple(stride), tuple(dilation), tuple(begin))
    return Geometry(False, n, w_shape[0], cl, groups, *args)


def _correlation(x_shape, y_shape, stride, dilation, begin, end, groups) -> Geometry:
    """The geometry of ``weight_correlation``: ``k_eff = o + b + e − (i−1)·s``, ``k = (k_eff − 1)/d + 1``."""
    n, cs, *small = x_shape
    large = y_shape[2:]
    ke = [o + b + e - (i - 1) * s for o, b, e, i, s in zip(large, begin, end, small, stride)]
    kernel = tuple((k - 1) // d + 1 for k, d in zip(ke, dilation))
    args = (tuple(small), tuple(large), kernel, tuple(stride), tuple(dilation), tuple(begin))
    return Geometry(True, n, cs, y_shape[1], groups, *args)


def _own(out: Tensor, *inputs) -> Tensor:
    """An operator's output may not share storage with an input (the schema promises none)."""
    if out.device.type != "meta" and any(
        t is not None and t.untyped_storage().data_ptr() == out.untyped_storage().data_ptr() for t in inputs
    ):
        return out.clone()
    return out


def _empty(shape, like: Tensor, dtype, fmt) -> Tensor:
    return torch.empty(shape, dtype=dtype, device=like.device, memory_format=fmt)


# ---- the operators: computation and fake implementation ------------------------------------------


@torch.library.custom_op("tconv::conv_transpose", mutates_args=())
def conv_transpose(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Sequence[int],
    dilation: Sequence[int],
    begin: Sequence[int],
    end: Sequence[int],
    groups: int,
    method: str,
    conv_method: str,
) -> Tensor:
    """``y = T_w x + b`` by the core's ``method``."""
    return transpose_body(x, weight, bias, Tail.of(stride, dilation, begin, end, groups, method, conv_method))


def transpose_body(x: Tensor, weight: Tensor, bias: Tensor | None, tail: Tail) -> Tensor:
    """:func:`conv_transpose`'s computation, which the eager route also calls directly on plain
    tensors (:class:`tconv.torch.autograd.ConvTranspose`): the registered operator's dispatch costs
    about 70 µs a call (measured on a 1×16×8² → 16 layer: 178 against 108 µs), the whole of a small call."""
    g = _transposed(x.shape, weight.shape, *tail.geometry())
    return _own(kernels.transpose(x, weight, bias, g, tail.method), x, weight, bias)


@conv_transpose.register_fake
def _(x, weight, bias, stride, dilation, begin, end, groups, method, conv_method):
    g = _transposed(x.shape, weight.shape, stride, dilation, begin, end, groups)
    dtype = kernels.result_dtype(x, weight)
    return _empty((x.shape[0], g.large_channels, *g.large), x, dtype, kernels.memory_format(x, weight))


@torch.library.custom_op("tconv::conv", mutates_args=())
def conv(
    y: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    cols: Tensor | None,
    stride: Sequence[int],
    dilation: Sequence[int],
    begin: Sequence[int],
    end: Sequence[int],
    groups: int,
    method: str,
    conv_method: str,
) -> Tensor:
    """``x = T_wᵀ y + b`` by ``conv_method``; ``cols``, if given, is ``columns(y)``."""
    g = convolution_geometry(y.shape, weight.shape, stride, dilation, begin, end, groups)
    return _own(kernels.conv(y, weight, bias, g, conv_method, cols), y, weight, bias)


@conv.register_fake
def _(y, weight, bias, cols, stride, dilation, begin, end, groups, method, conv_method):
    g = convolution_geometry(y.shape, weight.shape, stride, dilation, begin, end, groups)
    dtype = kernels.result_dtype(y, weight)
    return _empty((y.shape[0], g.small_channels, *g.small), y, dtype, kernels.memory_format(y, weight))


@torch.library.custom_op("tconv::weight_correlation", mutates_args=())
def weight_correlation(
    x: Tensor,
    y: Tensor,
    cols: Tensor | None,
    stride: Sequence[int],
    dilation: Sequence[int],
    begin: Sequence[int],
    end: Sequence[int],
    groups: int,
    method: str,
    conv_method: str,
) -> Tensor:
    """``w[cs, cl, t] = Σ_{n, i} x[n, cs, i] · y[n, cl, i·s + t·d − b]`` by ``conv_method``."""
    g = _correlation(x.shape, y.shape, stride, dilation, begin, end, groups)
    return _own(kernels.weight_correlation(x, y, g, conv_method, cols), x, y)


@weight_correlation.register_fake
def _(x, y, cols, stride, dilation, begin, end, groups, method, conv_method):
    g = _correlation(x.shape, y.shape, stride, dilation, begin, end, groups)
    return _empty(g.weight_shape, x, kernels.result_dtype(x, y), torch.contiguous_format)


@torch.library.custom_op("tconv::columns", mutates_args=())
def columns(
    large: Tensor,
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    begin: Sequence[int],
    end: Sequence[int],
    groups: int,
) -> Tensor:
    """im2col of the large side, ``(G, C_l/G·Πk, N·Πi)``, in the compute dtype (not differentiated:
    a cache that ``conv`` and ``weight_correlation`` may share)."""
    g = convolution_geometry(large.shape, (1, 1, *kernel), stride, dilation, begin, end, groups)
    compute = kernels.accumulation_dtype(large)
    return _own(kernels.columns(large.to(compute), g).contiguous(), large)


@columns.register_fake
def _(large, kernel, stride, dilation, begin, end, groups):
    g = convolution_geometry(large.shape, (1, 1, *kernel), stride, dilation, begin, end, groups)
    rows, cols = g.large_channels // groups * g.taps, large.shape[0] * math.prod(g.small)
    return _empty((groups, rows, cols), large, kernels.accumulation_dtype(large), torch.contiguous_format)


# ---- vmap: the mapped axis folded into the batch, or into the groups ------------------------------
#
# When only the activation is mapped, the map's B copies are B more samples: (B, N, ...) → (B·N, ...).
# When a weight is mapped, each copy has its own weight: B·G groups do it in one call, the copies'
# channels side by side — x (B, N, C_s, *i) → (N, B·C_s, *i), w (B, C_s, ...) → (B·C_s, ...). A
# group never mixes channels of another group, so copy b only ever meets weight b.


def _front(t, dim, size):
    """``t`` with its mapped axis first (broadcast to ``size`` when unmapped); None stays None."""
    if t is None:
        return None
    return t.movedim(dim, 0) if dim is not None else t.expand(size, *t.shape)


def _to_channels(t):
    """(B, N, C, *s) → (N, B·C, *s)."""
    return t.transpose(0, 1).reshape(t.shape[1], t.shape[0] * t.shape[2], *t.shape[3:])


def _from_channels(t, b):
    """(N, B·C, *s) → (B, N, C, *s)."""
    return t.reshape(t.shape[0], b, t.shape[1] // b, *t.shape[2:]).transpose(0, 1)


def _fold_batch(t):
    return t.reshape(t.shape[0] * t.shape[1], *t.shape[2:])


def _map_linear(op):
    """The vmap rule of ``conv_transpose`` and ``conv`` (same argument layout, ``data, weight, bias, ...``)."""

    def rule(info, in_dims, data, weight, bias, *rest):
        b, (dd, wd, bd) = info.batch_size, in_dims[:3]
        tail = list(rest[-7:])
        extra = list(rest[:-7])  # conv's cols: a cache, dropped (recomputed) under vmap
        if wd is None and bd is None:  # only the activation is mapped: more samples
            data = _fold_batch(_front(data, dd, b))
            out = op(data, weight, bias, *([None] * len(extra)), *tail)
            return out.reshape(b, out.shape[0] // b, *out.shape[1:]), 0
        data, weight, bias = _to_channels(_front(data, dd, b)), _front(weight, wd, b), _front(bias, bd, b)
        weight = weight.reshape(b * weight.shape[1], *weight.shape[2:])
        bias = None if bias is None else bias.reshape(-1)
        tail[4] = tail[4] * b  # groups
        out = op(data, weight, bias, *([None] * len(extra)), *tail)
        return _from_channels(out, b), 0

    return rule


conv_transpose.register_vmap(_map_linear(conv_transpose))
conv.register_vmap(_map_linear(conv))


@weight_correlation.register_vmap
def _(info, in_dims, x, y, cols, *tail):
    b, (xd, yd) = info.batch_size, in_dims[:2]
    x, y = _to_channels(_front(x, xd, b)), _to_channels(_front(y, yd, b))
    tail = list(tail)
    tail[4] = tail[4] * b
    w = weight_correlation(x, y, None, *tail)  # (B·C_s, C_l/G, *k): copy b's channels are block b
    return w.reshape(b, w.shape[0] // b, *w.shape[1:]), 0


@columns.register_vmap
def _(info, in_dims, large, kernel, stride, dilation, begin, end, groups):
    b = info.batch_size
    large = _fold_batch(_front(large, in_dims[0], b))
    cols = columns(large, kernel, stride, dilation, begin, end, groups)  # (G, R, B·N·Πi)
    return cols.reshape(cols.shape[0], cols.shape[1], b, -1).movedim(2, 0), 0
