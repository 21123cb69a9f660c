"""The public functions: ``conv_transpose`` and ``conv``, with PyTorch's argument order.

Each call does the same four things: turn the arguments into arrays of one library, check them into
a :class:`~tconv.geometry.Geometry` (before allocating anything), pick the dtype to compute in, and
hand the batched arrays to one method. Bias and un-batching are applied here, once, for every method.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tconv import arguments_cache, backends, methods, padding_modes
from tconv.arguments import Padding
from tconv.arrays import (
    as_array,
    check_integer_range,
    check_memory,
    compute_dtype,
    device_of,
    itemsize,
    namespace,
    prod,
)
from tconv.geometry import Geometry
from tconv.methods import CONV_METHODS, METHODS
from tconv.methods.correlate import correlate
from tconv.plan import plan_geometry

__all__ = ["conv_transpose", "conv", "METHODS", "CONV_METHODS", "choose_method"]


def choose_method(geometry: Geometry) -> str:
    """The method ``method="auto"`` runs for this geometry (see :func:`tconv.methods.choose`).

    Parameters
    ----------
    geometry
        A checked transposed geometry, from :func:`tconv.transpose_geometry`.

    Returns
    -------
    str
        One of :data:`METHODS`.

    >>> from tconv.arguments import transpose_geometry
    >>> choose_method(transpose_geometry((1, 4, 8, 8), (4, 2, 4, 4), stride=2))
    'gemm'
    """
    return methods.choose(geometry)[0]


def _prepare(x, weight, bias):
    x, weight = as_array("x", x), as_array("weight", weight)
    bias = None if bias is None else as_array("bias", bias)
    return namespace(x, weight, bias), x, weight, bias


def _astype(xp, a, dtype):
    """``xp.astype(a, dtype, copy=False)``; NumPy's own method for a NumPy array (a small call's µs)."""
    return a.astype(dtype, copy=False) if type(a) is np.ndarray else xp.astype(a, dtype, copy=False)


def _integral(xp, dtype) -> bool:
    return dtype.kind in "iu" if isinstance(dtype, np.dtype) else xp.isdtype(dtype, "integral")


def _finish(xp, y, bias, g: Geometry, result_dtype):
    if bias is not None:  # y is a fresh array made by the method: add in place (JAX: `+=` makes a new array)
        y += xp.reshape(_astype(xp, bias, y.dtype), (-1, *(1,) * g.ndim))
    y = _astype(xp, y, result_dtype)
    return y[0, ...] if g.batch is None else y


def conv_transpose(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: int | Sequence[int] = 1,
    padding: Padding = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
    *,
    output_size: Sequence[int] | None = None,
    padding_mode: str = "zeros",
    method: str = "auto",
) -> Any:
    """N-dimensional transposed convolution, equal to ``torch.nn.functional.conv_transpose{1,2,3}d``.

    Per spatial axis the output size is ``o = (i−1)·s + d·(k−1) + 1 − b − e + op``: the full output
    ``F = (i−1)·s + k_eff`` with ``b`` cropped at the start and ``e`` at the end.

    Parameters
    ----------
    x
        ``(N, C_in, *i)``, or unbatched ``(C_in, *i)``: a NumPy array or array-like, a torch tensor
        (:mod:`tconv.torch` for autograd), a JAX array (inside ``jax.jit``/``grad``/``vmap`` too), an
        array-api-strict array — or a Dask array, which gives a lazy Dask array computed chunk by
        chunk (:mod:`tconv.backends.dask`).
    weight
        ``(C_in, C_out/groups, *k)``, PyTorch's layout; its rank decides the number of spatial axes.
    bias
        ``(C_out,)`` or None.
    stride, dilation
        An int, or one per spatial axis; at least 1.
    padding
        The crops: an int or one int per axis (``b = e = p``, PyTorch), one ``(b, e)`` pair per axis
        (ONNX pads), ``"valid"`` (none) or ``"same"`` (TensorFlow's rule, ``o = i·s``).
    output_padding
        Elements given back at the end of each axis, ``0 ≤ op < max(stride, dilation)``.
    groups
        Channel groups; divides ``C_in`` and ``C_out``.
    output_size
        The spatial output size (or the whole output shape) instead of ``output_padding``.
    padding_mode
        ``"zeros"``, ``"circular"``, ``"reflect"`` or ``"replicate"``: the adjoint of :func:`conv`
        with that mode (:mod:`tconv.padding_modes`).
    method
        One of :data:`METHODS`, ``"auto"`` (a rule picks, see :func:`tconv.plan`) or ``"measure"``
        (on NumPy arrays, the fast path's arrangements are timed once for this geometry, dtype and
        thread setting, and the fastest is remembered for the process: ``tconv.plan(...,
        measure=True)`` shows the times); all give the same result.

    Returns
    -------
    array
        ``(N, C_out, *o)`` (or ``(C_out, *o)``), of the input's library. Integer inputs give the
        exact int64 result; float16/bfloat16 are accumulated in float32 and returned in their own dtype.

    Raises
    ------
    TConvError
        An argument breaks a rule (the message names it and the values), or the call would not fit
        in memory — raised before anything large is allocated.

    Examples
    --------
    >>> conv_transpose([[[2, 2], [0, 2]]], [[[[1, 0], [0, 1]]]])
    array([[[2, 2, 0],
            [0, 4, 2],
            [0, 0, 2]]])
    """
    methods.check_method(method, METHODS, ("auto", "measure"))
    if backends.is_dask(x):  # chunk by chunk, lazily: overlap-add of the blocks' outputs
        from tconv.backends import dask

        return dask.conv_transpose(
            x, weight, bias, stride, padding, output_padding, groups, dilation,
            output_size=output_size, padding_mode=padding_mode, method=method,
        )  # fmt: skip
    xp, x, weight, bias = _prepare(x, weight, bias)
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
    )
    compute, result = compute_dtype(xp, x, weight, bias)
    # With a padding mode, the plan computes the uncropped output (b = 0, all F cells), then fold
    # the padded cells back onto the signal: the adjoint of padding by that mode (tconv.padding_modes).
    plan = plan_geometry(g, method, compute, numpy=type(x).__module__ == "numpy", padding_mode=padding_mode)
    plan.check()
    computed, folded = plan.computed, padding_mode != "zeros"
    if _integral(xp, compute):
        folds = math.prod(1 + b + e for b, e in padding_modes.mode_pairs(g)) if folded else 1
        check_integer_range(xp, "conv_transpose", computed.max_terms, x, weight, bias, folds)
    # copy=False: a float32 call computes on the caller's arrays (the methods never write to them).
    xb = _astype(xp, x if g.batch is not None else x[None, ...], compute)
    if xb.shape[0] == 0:
        y = xp.zeros((0, g.large_channels, *computed.large), dtype=compute, device=device_of(x))
    else:
        y = methods.run(plan.method, xb, _astype(xp, weight, compute), computed, plan.arrangement)
    if folded:
        y = padding_modes.fold(y, g, padding_mode)
    return _finish(xp, y, bias, g, result)


def conv(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: int | Sequence[int] = 1,
    padding: Padding = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    *,
    padding_mode: str = "zeros",
    method: str = "auto",
) -> Any:
    """N-dimensional convolution (cross-correlation), equal to ``torch.nn.functional.conv{1,2,3}d``.

    It is the adjoint of :func:`conv_transpose` with the same weight tensor:
    ``⟨conv(y, w), x⟩ = ⟨y, conv_transpose(x, w)⟩`` (the dot-product test).

    Parameters
    ----------
    x
        ``(N, C_in, *n)`` or unbatched ``(C_in, *n)``.
    weight
        ``(C_out, C_in/groups, *k)``, PyTorch's layout for ``conv``.
    bias
        ``(C_out,)`` or None.
    stride, dilation
        An int, or one per spatial axis; at least 1.
    padding
        The forms of :func:`conv_transpose`; ``"same"`` is TensorFlow's rule (``o = ⌈n/s⌉``) at any stride.
    groups
        Channel groups.
    padding_mode
        ``"zeros"``, ``"circular"``, ``"reflect"`` or ``"replicate"`` (as PyTorch's ``Conv`` modules).
    method
        ``"direct"`` or ``"auto"``.

    Returns
    -------
    array
        ``(N, C_out, *o)`` (or unbatched), of the input's library.

    Raises
    ------
    TConvError
        An argument breaks a rule, or the call would not fit in memory.

    Examples
    --------
    >>> conv([[[1, 2, 3, 4]]], [[[1, 10]]])
    array([[[21, 32, 43]]])
    """
    methods.check_method(method, CONV_METHODS)
    if backends.is_dask(x):  # chunk by chunk, lazily: each output chunk reads a halo
        from tconv.backends import dask

        return dask.conv(x, weight, bias, stride, padding, dilation, groups, padding_mode=padding_mode, method=method)
    xp, x, weight, bias = _prepare(x, weight, bias)
    g = arguments_cache.conv_geometry(
        x.shape,
        weight.shape,
        stride,
        padding,
        dilation,
        groups,
        bias_shape=None if bias is None else bias.shape,
    )
    compute, result = compute_dtype(xp, x, weight, bias)
    if _integral(xp, compute):
        check_integer_range(xp, "conv", g.max_terms, x, weight, bias)
    check_memory(
        f"conv to shape {g.output_shape}",
        2 * prod(g.output_shape) + prod(g.input_shape),
        itemsize(xp, compute),
    )
    xb = _astype(xp, x if g.batch is not None else x[None, ...], compute)
    start = tuple(-b for b in g.begin)  # left padding b: output 0 reads x from −b (zeros outside x)
    if padding_mode != "zeros":  # fill the padding by the mode instead, then read from its start
        pairs = padding_modes.mode_pairs(g)
        padding_modes.check_mode(padding_mode, g.large, pairs)
        xb, start = padding_modes.pad(xb, pairs, padding_mode), (0,) * g.ndim
    y = correlate(
        xb,
        _astype(xp, weight, compute),
        stride=g.stride,
        dilation=g.dilation,
        groups=g.groups,
        start=start,
        size=g.small,
    )
    return _finish(xp, y, bias, g, result)
