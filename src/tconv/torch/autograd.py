"""The derivatives of tconv's operators: three maps that are each other's adjoints.

A transposed convolution ``y = T_w x`` is linear in ``x`` and in ``w``. With the small side ``x``
(``N, C_s, *i``), the large side ``y`` (``N, C_l, *o``), the weight ``w`` (``C_s, C_l/G, *k``) and the
geometry's map ``o = i·s + t·d − b`` (see :mod:`tconv.geometry`):

    ConvTranspose       y[n, cl, i·s + t·d − b] += w[cs, cl, t] · x[n, cs, i]
    Conv                x[n, cs, i] = Σ_{cl, t} w[cs, cl, t] · y[n, cl, i·s + t·d − b]     (its adjoint)
    WeightCorrelation   w[cs, cl, t] = Σ_{n, i} x[n, cs, i] · y[n, cl, i·s + t·d − b]

(channels ``cs``, ``cl`` of one group; groups never mix). Each is bilinear in its two tensor
arguments, and each partial derivative is one of the three again — with the very same geometry
arguments (:func:`tconv.torch.ops.geometry_tail`):

    ConvTranspose(x, w):      ∂/∂x = Conv(gy, w)               ∂/∂w = WeightCorrelation(x, gy)
    Conv(y, w):               ∂/∂y = ConvTranspose(gx, w)      ∂/∂w = WeightCorrelation(gx, y)
    WeightCorrelation(x, y):  ∂/∂x = Conv(y, gw)               ∂/∂y = ConvTranspose(x, gw)

Bilinearity also gives forward mode: ``d(T_w x) = T_w dx + T_dw x`` (and likewise for the other
two). Every formula below is written with these three maps, so it is itself differentiable, to any
order, in either mode (``gradgradcheck``, Hessians, ``jacfwd(jacrev(f))``).

Two routes lead to the same operators (:mod:`tconv.torch.ops`) and the same formulas:

* eagerly, through the ``torch.autograd.Function`` classes below — forward, backward and ``jvp``
  side by side; ``generate_vmap_rule`` lets ``torch.func.vmap`` reach the operators' own rules;
* under ``torch.compile``, ``torch.export`` (so ONNX export) and ``torch.jit.trace``, the operators
  directly, with the backward registered by ``register_autograd``: Dynamo refuses an
  ``autograd.Function`` that defines ``jvp``, and a trace should hold one node per call.
  PyTorch's operator registry takes no forward-mode formula, so forward-mode AD *inside* a
  compiled region is not available (outside one, the eager route serves it).
"""

from __future__ import annotations

import math

import torch
from torch.autograd import forward_ad

from tconv.errors import TORCH_INSTALL, TConvError
from tconv.torch import kernels, ops
from tconv.torch.gemm import BUDGET
from tconv.torch.kernels import CONV_METHODS

__all__ = ["ConvTranspose", "Conv", "WeightCorrelation", "conv_transpose", "conv", "weight_correlation", "CONV_METHODS"]


# torch.func.jvp and torch.autograd.forward_ad keep their nesting in module globals that no public
# API exposes (torch._functorch.eager_transforms.JVP_NESTING, torch.autograd.forward_ad._current_level;
# present in torch 2.13, which tconv is tested with). They are read at each traced call, as they
# change when transforms nest; here only their presence is checked, once. Without them, tracing
# tconv's layers raises (in _traced) rather than risk dropping a tangent silently.
try:
    from torch._functorch import eager_transforms as _jvp_state
except ImportError:  # pragma: no cover - a torch that moved it
    _jvp_state = None
_FORWARD_MODE_READABLE = hasattr(_jvp_state, "JVP_NESTING") and hasattr(forward_ad, "_current_level")


def _traced() -> bool:
    """Whether this call is being traced into a graph (compile, export, jit.trace) rather than run.

    A traced call takes the operators, which carry no forward-mode formula: forward-mode AD there
    would silently drop the tangent, so it is refused instead."""
    if not (torch.compiler.is_compiling() or torch.jit.is_tracing()):
        return False
    if not _FORWARD_MODE_READABLE:
        raise TConvError(
            f"torch {torch.__version__} does not have the forward-mode AD state tconv reads to keep a traced call "
            "correct (torch._functorch.eager_transforms.JVP_NESTING, torch.autograd.forward_ad._current_level): "
            "run tconv's layers without torch.compile, torch.export or torch.jit.trace, or use a torch in the "
            f"range the 'torch' extra gives ({TORCH_INSTALL})"
        )
    if _jvp_state.JVP_NESTING > 0 or forward_ad._current_level >= 0:
        raise TConvError(
            "forward-mode AD (torch.func.jvp, jacfwd, torch.autograd.forward_ad) inside torch.compile, "
            "torch.export or torch.jit.trace is not supported: PyTorch's operator registry has no forward-mode "
            "formula for tconv's operators. Apply the transform outside the compiled function instead."
        )
    return True


# ---- the three maps, by either route. ``tail`` is an ops.Tail: the geometry and the methods ---------


def conv_transpose(x, weight, bias, tail):
    """``y = T_w x + b``."""
    if _traced():
        return ops.conv_transpose(x, weight, bias, *tail.args())
    return ConvTranspose.apply(x, weight, bias, tail)


def conv(y, weight, bias, tail, cols=None):
    """``x = T_wᵀ y + b``; ``cols`` is an optional cache, ``columns(y)``."""
    if _traced():
        return ops.conv(y, weight, bias, cols, *tail.args())
    return Conv.apply(y, weight, bias, tail, cols)


def weight_correlation(x, y, tail, cols=None):
    """``w = Σ_{n, i} x ⊗ y``, read through the map; ``cols`` is an optional cache, ``columns(y)``."""
    if _traced():
        return ops.weight_correlation(x, y, cols, *tail.args())
    return WeightCorrelation.apply(x, y, tail, cols)


def _shared_columns(large, kernel, tail, both_needed: bool):
    """``columns(large)`` when both gradients are about to read it (one im2col, not two) and it fits
    in one block of :mod:`tconv.torch.gemm` (larger, each gradient runs its own im2col a block of
    images at a time: a whole buffer over 32 MiB costs more in page faults than a second im2col),
    else None."""
    if not both_needed or tail.conv_method != "gemm" or large.shape[0] == 0:
        return None
    g = ops.convolution_geometry(large.shape, (1, 1, *kernel), *tail.geometry())
    if large.shape[0] * g.large_channels * g.taps * math.prod(g.small) * large.element_size() > BUDGET:
        return None
    with torch.no_grad():  # a cache: never differentiated (conv and weight_correlation return no gradient for it)
        return ops.columns(large, kernel, *tail.geometry())


# Whether a tensor is a torch.func wrapper (inside vmap, grad or jvp): no public API says so. A torch
# without this function never takes the fused backward: the differentiable maps are right for any tensor.
_functorch_wrapped = getattr(getattr(torch._C, "_functorch", None), "is_functorch_wrapped_tensor", None)
# How many TorchDispatchModes are active (a FlopCounter, a profiler's mode): again no public API; a
# torch without it always runs the forward through the registered operator.
_dispatch_modes = getattr(torch._C, "_len_torch_dispatch_stack", None)


def _plain(*tensors) -> bool:
    """Whether a backward may call the kernels directly rather than through the differentiable
    maps: no graph being built (``create_graph=False``), no trace, no ``torch.func`` transform,
    plain tensors of one dtype."""
    if torch.is_grad_enabled() or _traced() or _functorch_wrapped is None:
        return False
    wrapped = _functorch_wrapped
    return all(
        type(t) in (torch.Tensor, torch.nn.Parameter) and not wrapped(t) and t.dtype == tensors[0].dtype
        for t in tensors
    )


def _bias_grad(grad, needed):
    return grad.sum(dim=(0, *range(2, grad.ndim))) if needed else None


def _bias_tangent(db, shape):
    return db.reshape(-1, *(1,) * (len(shape) - 2)).expand(shape)


def _add(*terms):
    present = [t for t in terms if t is not None]
    return sum(present[1:], present[0]) if present else None


# ---- the formulas: backward (reverse mode) and jvp (forward mode) of each map ----------------------


def transpose_backward(ctx, grad):
    """``ConvTranspose(x, w) + b``: ``gx = Conv(gy, w)``, ``gw = WeightCorrelation(x, gy)``, ``gb = Σ gy``."""
    x, weight = ctx.saved_tensors[:2]
    need_x, need_w, need_b = ctx.needs_input_grad[:3]
    if need_x and need_w and ctx.tail.conv_method == "gemm" and _plain(grad, weight, x):
        # a first-order backward on plain tensors: both gradients from one im2col per tile
        g = ops.convolution_geometry(grad.shape, weight.shape, *ctx.tail.geometry())
        grad_x, grad_w = kernels.conv_and_correlation(grad, weight, x, g)
        return grad_x, grad_w, _bias_grad(grad, need_b and ctx.has_bias)
    cols = _shared_columns(grad, weight.shape[2:], ctx.tail, need_x and need_w)
    grad_x = conv(grad, weight, None, ctx.tail, cols) if need_x else None  # T_wᵀ gy
    grad_w = weight_correlation(x, grad, ctx.tail, cols) if need_w else None  # Σ x ⊗ gy
    return grad_x, grad_w, _bias_grad(grad, need_b and ctx.has_bias)


def transpose_jvp(ctx, dx, dw, db):
    """``dy = T_w dx + T_dw x + db``."""
    x, weight = ctx.saved_tensors[:2]
    return _add(
        None if dx is None else conv_transpose(dx, weight, None, ctx.tail),
        None if dw is None else conv_transpose(x, dw, None, ctx.tail),
        None if db is None else _bias_tangent(db, ctx.shape),
    )


def conv_backward(ctx, grad):
    """``Conv(y, w) + b``: ``gy = ConvTranspose(gx, w)``, ``gw = WeightCorrelation(gx, y)``, ``gb = Σ gx``."""
    y, weight = ctx.saved_tensors[:2]
    need_y, need_w, need_b = ctx.needs_input_grad[:3]
    grad_y = conv_transpose(grad, weight, None, ctx.tail) if need_y else None  # T_w gx
    grad_w = weight_correlation(grad, y, ctx.tail) if need_w else None  # Σ gx ⊗ y
    return grad_y, grad_w, _bias_grad(grad, need_b and ctx.has_bias)


def conv_jvp(ctx, dy, dw, db):
    """``dx = T_wᵀ dy + T_dwᵀ y + db``."""
    y, weight = ctx.saved_tensors[:2]
    return _add(
        None if dy is None else conv(dy, weight, None, ctx.tail),
        None if dw is None else conv(y, dw, None, ctx.tail),
        None if db is None else _bias_tangent(db, ctx.shape),
    )


def correlation_backward(ctx, grad):
    """``WeightCorrelation(x, y)``: ``gx = Conv(y, gw)``, ``gy = ConvTranspose(x, gw)``."""
    x, y = ctx.saved_tensors[:2]
    need_x, need_y = ctx.needs_input_grad[:2]
    grad_x = conv(y, grad, None, ctx.tail) if need_x else None  # T_gwᵀ y
    grad_y = conv_transpose(x, grad, None, ctx.tail) if need_y else None  # T_gw x
    return grad_x, grad_y


def correlation_jvp(ctx, dx, dy):
    """``dw = WeightCorrelation(dx, y) + WeightCorrelation(x, dy)``."""
    x, y = ctx.saved_tensors[:2]
    return _add(
        None if dx is None else weight_correlation(dx, y, ctx.tail),
        None if dy is None else weight_correlation(x, dy, ctx.tail),
    )


def _save(ctx, a, b, bias, tail, output):
    ctx.save_for_backward(a, b)
    ctx.save_for_forward(a, b)
    ctx.tail, ctx.has_bias, ctx.shape = tail, bias is not None, output.shape


# ---- the eager route: autograd.Functions around the operators ---------------------------------------


class ConvTranspose(torch.autograd.Function):
    """``ConvTranspose.apply(x, weight, bias, tail)``: ``y = T_w x + b`` (``x`` batched)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, weight, bias, tail):
        # eager, plain tensors, and no dispatch mode watching (a FlopCounter, a profiler's mode must
        # see tconv's operator): the operator's body, without the dispatch (ops.transpose_body)
        if (
            _dispatch_modes is not None
            and not _dispatch_modes()
            and _plain(x, weight, *(() if bias is None else (bias,)))
        ):
            return ops.transpose_body(x, weight, bias, tail)
        return ops.conv_transpose(x, weight, bias, *tail.args())

    @staticmethod
    def setup_context(ctx, inputs, output):
        _save(ctx, inputs[0], inputs[1], inputs[2], inputs[3], output)

    @staticmethod
    def backward(ctx, grad):
        return (*transpose_backward(ctx, grad), None)

    @staticmethod
    def jvp(ctx, dx, dw, db, _):
        return transpose_jvp(ctx, dx, dw, db)


class Conv(torch.autograd.Function):
    """``Conv.apply(y, weight, bias, tail, cols)``: ``x = T_wᵀ y + b``, the adjoint (``y`` batched)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(y, weight, bias, tail, cols):
        return ops.conv(y, weight, bias, cols, *tail.args())

    @staticmethod
    def setup_context(ctx, inputs, output):
        _save(ctx, inputs[0], inputs[1], inputs[2], inputs[3], output)

    @staticmethod
    def backward(ctx, grad):
        return (*conv_backward(ctx, grad), None, None)

    @staticmethod
    def jvp(ctx, dy, dw, db, _, dcols):  # cols is a cache of columns(y): dy already says how it moves
        return conv_jvp(ctx, dy, dw, db)


class WeightCorrelation(torch.autograd.Function):
    """``WeightCorrelation.apply(x, y, tail, cols)``: the weight gradient of both maps."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, y, tail, cols):
        return ops.weight_correlation(x, y, cols, *tail.args())

    @staticmethod
    def setup_context(ctx, inputs, output):
        _save(ctx, inputs[0], inputs[1], None, inputs[2], output)

    @staticmethod
    def backward(ctx, grad):
        return (*correlation_backward(ctx, grad), None, None)

    @staticmethod
    def jvp(ctx, dx, dy, _, dcols):
        return correlation_jvp(ctx, dx, dy)


# ---- the traced route: the same formulas registered on the operators --------------------------------


def _register(op, backward, bias_at: int | None):
    """Give ``op`` the ``backward`` formula: its two operands come first, then the bias (at
    ``bias_at``, if it has one), the geometry tail last (its last 7 arguments)."""

    def setup_context(ctx, inputs, output):
        bias = inputs[bias_at] if bias_at is not None else None
        _save(ctx, inputs[0], inputs[1], bias, ops.Tail.of(*inputs[-7:]), output)
        ctx.arguments = len(inputs)

    def op_backward(ctx, grad):
        grads = backward(ctx, grad)
        return (*grads, *(None,) * (ctx.arguments - len(grads)))  # no gradient for the geometry tail

    op.register_autograd(op_backward, setup_context=setup_context)


_register(ops.conv_transpose, transpose_backward, 2)
_register(ops.conv, conv_backward, 2)
_register(ops.weight_correlation, correlation_backward, None)
