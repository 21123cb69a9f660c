"""The public functions: ``conv_transpose`` and ``conv``, with PyTorch's argument order.

Each call does the same four things: turn the arguments into arrays of one library, check them into
a :class:`~tconv.geometry.Geometry` (before allocating anything), pick the dtype to compute in, and
hand the batched arrays to one method. Bias and un-batching are applied here, once, for every method.
"""

from __future__ import annotations

import dataclasses
import functools

from . import padding_modes
from ._array import as_array, check_memory, compute_dtype, itemsize, namespace, prod
from .correlate import correlate
from .errors import TConvError
from .gemm import gemm
from .geometry import Geometry, conv_geometry, transpose_geometry
from .matrix import matrix
from .polyphase import polyphase
from .scatter import scatter
from .zero_insert import zero_insert

__all__ = ["conv_transpose", "conv", "METHODS", "CONV_METHODS", "choose_method"]

#: The five ways tconv computes a transposed convolution; all give the same result.
METHODS = ("scatter", "zero_insert", "matrix", "gemm", "polyphase")
#: The ways tconv computes the forward convolution.
CONV_METHODS = ("direct",)

_IMPLEMENTATIONS = {
    "scatter": scatter,
    "zero_insert": zero_insert,
    "matrix": matrix,
    "gemm": gemm,
    "polyphase": polyphase,
}


def _check_method(method, allowed) -> None:
    if method != "auto" and method not in allowed:
        raise TConvError(f"method={method!r} is not one of {('auto', *allowed)}")


def choose_method(geometry: Geometry) -> str:
    """The method ``method="auto"`` runs for this geometry: ``gemm``, whose NumPy fast path won.

    Measured with ``tconv bench`` and a grid of 2-D layers (float32, 2 cores, NumPy, best of
    several interleaved calls; the README, section Speed):

    * On the layers of the benchmark table ``gemm`` beat polyphase, the closest other method:
      polyphase took 1.1–1.8× its time on seven layers and 6–19× on three (DCGAN and WaveGAN: many
      channels on a small image, many small per-phase products). On a mid-size layer
      (1, 64, 32, 32) → 64, k4 s2, the others took polyphase 1.3×, zero_insert 3.2×, matrix 5.2×,
      scatter 7.1× gemm's time.
    * With few channels (4 or 16; 32×32 and 64×64 images, N = 8, k 2–4, s 2) polyphase took
      0.75–0.98× gemm's time on four of twelve layers and 1.2–3.2× on the others, with no simple
      rule of the geometry separating the two. Polyphase also reads zero padding at the borders,
      so an ``inf`` in the weight gives ``nan`` there (``0·inf``) where gemm and PyTorch give
      ``inf``. So ``auto`` stays ``gemm``: one answer for every geometry, within 1.35× of the
      fastest method wherever measured.
    """
    return "gemm"


def _workspace(method: str, g: Geometry) -> int:
    """Elements a method allocates besides its output (an upper bound, for the memory guard)."""
    n, c_in, c_out = g.batch or 1, g.small_channels, g.large_channels
    if method == "gemm":  # the readable version's column buffer and canvas; NumPy's fast path tiles, using less
        return n * c_out * (g.taps * prod(g.small) + prod(g.full))
    if method == "scatter":
        return n * c_out * prod(g.full)
    if method == "zero_insert":
        stretched = prod((i - 1) * s + 1 for i, s in zip(g.small, g.stride))
        return n * c_in * stretched + n * c_out * prod(g.large)
    if method == "matrix":
        return n * c_in * prod(g.large) * 2
    return 2 * n * c_out * prod(g.large)  # polyphase


_cached_transpose_geometry = functools.lru_cache(maxsize=1024)(transpose_geometry)
_cached_conv_geometry = functools.lru_cache(maxsize=1024)(conv_geometry)


def _geometry(cached, build, *args, **kwargs) -> Geometry:
    """``build(*args, **kwargs)``, from a cache when every argument is hashable.

    Checking the arguments is most of a small call's time (the learner's example: about 20 of 60 µs),
    and layers call with the same shapes again and again. Geometries are immutable, so sharing is safe.
    """
    try:
        return cached(*args, **kwargs)
    except TConvError:
        raise
    except TypeError:  # an unhashable argument, such as padding given as a list: check it uncached
        return build(*args, **kwargs)


def _prepare(x, weight, bias):
    x, weight = as_array("x", x), as_array("weight", weight)
    bias = None if bias is None else as_array("bias", bias)
    return namespace(x, weight, bias), x, weight, bias


def _finish(xp, y, bias, g: Geometry, result_dtype):
    if bias is not None:  # y is a fresh array made by the method: add in place, no second output
        y += xp.reshape(xp.astype(bias, y.dtype, copy=False), (-1, *(1,) * g.ndim))
    y = xp.astype(y, result_dtype, copy=False)
    return y[0] if g.batch is None else y


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
    """N-dimensional transposed convolution, equal to ``torch.nn.functional.conv_transpose{1,2,3}d``.

    ``x`` is ``(N, C_in, *i)`` or unbatched ``(C_in, *i)``; ``weight`` is ``(C_in, C_out/groups, *k)``
    and its rank decides the number of spatial axes; ``bias`` is ``(C_out,)``. Per axis the output
    size is ``o = (i−1)·s + d·(k−1) + 1 − b − e + op``; see :func:`tconv.geometry.transpose_geometry`
    for every form of ``padding`` (int, per axis, ``(begin, end)`` pairs, ``"same"``, ``"valid"``) and
    for ``output_size``. ``method`` is one of :data:`METHODS` or ``"auto"``; all give the same result.
    ``padding_mode`` (``"zeros"``, ``"circular"``, ``"reflect"``, ``"replicate"``) makes it the adjoint
    of :func:`conv` with that mode: see :mod:`tconv.padding_modes`.

    Integer ``x`` and ``weight`` give the exact integer result (int64); float16/bfloat16 are
    accumulated in float32 and returned in their own dtype. NumPy arrays, array-likes and (through
    ``tconv.torch``) torch tensors are accepted; the result is of the input's library.

    >>> conv_transpose([[[2, 2], [0, 2]]], [[[[1, 0], [0, 1]]]])
    array([[[2, 2, 0],
            [0, 4, 2],
            [0, 0, 2]]])
    """
    _check_method(method, METHODS)
    xp, x, weight, bias = _prepare(x, weight, bias)
    g = _geometry(
        _cached_transpose_geometry,
        transpose_geometry,
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
    # With a padding mode, compute the uncropped output (b = 0, all F cells), then fold the padded
    # cells back onto the signal: the adjoint of padding by that mode (see tconv.padding_modes).
    computed = g if padding_mode == "zeros" else _uncropped(g, padding_mode)
    name = choose_method(computed) if method == "auto" else method
    check_memory(
        f"conv_transpose to shape {computed.output_shape} with method={name!r}",
        prod(computed.output_shape) + _workspace(name, computed),
        itemsize(xp, compute),
    )
    # copy=False: a float32 call computes on the caller's arrays (the methods never write to them).
    xb = xp.astype(x if g.batch is not None else x[None, ...], compute, copy=False)
    if xb.shape[0] == 0:
        y = xp.zeros((0, g.large_channels, *computed.large), dtype=compute, device=x.device)
    else:
        y = _IMPLEMENTATIONS[name](xb, xp.astype(weight, compute, copy=False), computed)
    if computed is not g:
        y = padding_modes.fold(y, g, padding_mode)
    return _finish(xp, y, bias, g, result)


def _uncropped(g: Geometry, padding_mode: str) -> Geometry:
    """``g`` without its crop: the full output of ``F`` cells, which a padding mode folds back."""
    padding_modes.check_mode(padding_mode, g.large, padding_modes.mode_pairs(g))  # before computing
    return dataclasses.replace(g, begin=(0,) * g.ndim, large=g.full)


def conv(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, padding_mode="zeros", method="auto"):
    """N-dimensional convolution (cross-correlation), equal to ``torch.nn.functional.conv{1,2,3}d``.

    ``weight`` is ``(C_out, C_in/groups, *k)``. ``padding`` takes the same forms as in
    :func:`conv_transpose`, ``"same"`` being TensorFlow's rule (``o = ⌈n/s⌉``) at any stride.
    It is the adjoint of :func:`conv_transpose` with the same weight:
    ``⟨conv(y, w), x⟩ = ⟨y, conv_transpose(x, w)⟩``. ``padding_mode`` fills the padding by
    ``"zeros"``, ``"circular"``, ``"reflect"`` or ``"replicate"`` (as PyTorch's ``Conv`` modules do).

    >>> conv([[[1, 2, 3, 4]]], [[[1, 10]]])
    array([[[21, 32, 43]]])
    """
    _check_method(method, CONV_METHODS)
    xp, x, weight, bias = _prepare(x, weight, bias)
    g = _geometry(
        _cached_conv_geometry,
        conv_geometry,
        x.shape, weight.shape, stride, padding, dilation, groups, bias_shape=None if bias is None else bias.shape,
    )
    compute, result = compute_dtype(xp, x, weight, bias)
    check_memory(
        f"conv to shape {g.output_shape}",
        2 * prod(g.output_shape) + prod(g.input_shape),
        itemsize(xp, compute),
    )
    xb = xp.astype(x if g.batch is not None else x[None, ...], compute, copy=False)
    start = tuple(-b for b in g.begin)  # left padding b: output 0 reads x from −b (zeros outside x)
    if padding_mode != "zeros":  # fill the padding by the mode instead, then read from its start
        pairs = padding_modes.mode_pairs(g)
        padding_modes.check_mode(padding_mode, g.large, pairs)
        xb, start = padding_modes.pad(xb, pairs, padding_mode), (0,) * g.ndim
    y = correlate(
        xb,
        xp.astype(weight, compute, copy=False),
        stride=g.stride,
        dilation=g.dilation,
        groups=g.groups,
        start=start,
        size=g.small,
    )
    return _finish(xp, y, bias, g, result)
