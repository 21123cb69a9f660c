"""Checking user arguments into a :class:`~tconv.geometry.Geometry`, before anything is allocated.

Every rule PyTorch applies to ``conv_transpose`` and ``conv`` is checked here, once, and every
message names the parameter, the rule and the values given. The per-argument normalisers
(:func:`per_axis`, :func:`padding_pairs`) are public: the interop converters and the torch layer
read arguments the same way.

>>> transpose_geometry((8, 16, 7), (16, 4, 3), stride=2, padding=1, output_padding=1).output_shape
(8, 4, 14)
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Sequence

from tconv.errors import TConvError, TConvTypeError
from tconv.geometry import Geometry, conv_same_pairs, conv_size, effective_kernel, full_size, same_pairs

#: What ``padding`` takes: an int, one per axis, ``(begin, end)`` pairs per axis, ``"same"``, ``"valid"``.
Padding = int | str | Sequence[int | Sequence[int]]

__all__ = [
    "Padding",
    "transpose_geometry",
    "base_geometry",
    "conv_geometry",
    "output_shape",
    "per_axis",
    "padding_pairs",
    "is_int",
    "same_pairs",
    "conv_same_pairs",
]


# ---- per-argument normalisation --------------------------------------------------------------


def is_int(v) -> bool:
    """Whether ``v`` is a whole number (an integral type, not a bool)."""
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def per_axis(name: str, value, ndim: int, minimum: int) -> tuple[int, ...]:
    """An int or one int per spatial axis, each ≥ ``minimum``."""
    values = (value,) * ndim if is_int(value) else value
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TConvTypeError(f"{name} must be an int or a sequence of {ndim} ints; got {value!r}")
    values = tuple(values)
    if len(values) != ndim:
        raise TConvError(
            f"{name}={value!r} must give one value per spatial axis: {_plural(ndim, 'value')}, got {len(values)}"
        )
    for v in values:
        if not is_int(v):
            raise TConvTypeError(f"{name}={value!r} must hold whole numbers (ints); got {v!r}")
        if v < minimum:
            rule = "positive" if minimum == 1 else "non-negative"
            raise TConvError(f"{name}={value!r} must be {rule} on every axis")
    return tuple(int(v) for v in values)


def padding_pairs(padding, ndim: int) -> tuple[tuple[int, int], ...] | str:
    """``padding`` as one ``(begin, end)`` pair per axis, or the words ``"same"``/``"valid"``.

    Accepted: an int; one int per axis (symmetric, PyTorch); one ``(begin, end)`` pair per axis
    (ONNX pads); ``"same"``; ``"valid"``.
    """
    if isinstance(padding, str):
        word = padding.lower()
        if word not in ("same", "valid"):
            raise TConvError(f'padding={padding!r} must be an int, per-axis ints or pairs, "same" or "valid"')
        if word == "valid":
            return ((0, 0),) * ndim
        return word
    if is_int(padding):
        padding = (padding,) * ndim
    if not isinstance(padding, Sequence):
        raise TConvTypeError(
            f'padding must be an int, per-axis ints or (begin, end) pairs, "same" or "valid"; got {padding!r}'
        )
    padding = tuple(padding)
    if len(padding) != ndim:
        raise TConvError(
            f"padding={padding!r} must give one value or (begin, end) pair per spatial axis: {ndim}, got {len(padding)}"
        )
    pairs = []
    for p in padding:
        pair = (p, p) if is_int(p) else tuple(p) if isinstance(p, Sequence) and not isinstance(p, str) else None
        if pair is None or len(pair) != 2 or not all(is_int(v) for v in pair):
            raise TConvTypeError(
                f"padding={padding!r}: each axis takes an int or a (begin, end) pair of ints; got {p!r}"
            )
        if min(pair) < 0:
            raise TConvError(f"padding={padding!r} must be non-negative on every axis")
        pairs.append((int(pair[0]), int(pair[1])))
    return tuple(pairs)


def _as_shape(name: str, shape) -> tuple[int, ...]:
    try:
        shape = tuple(int(n) for n in shape)
    except TypeError:
        raise TConvTypeError(f"{name} must be a shape (a sequence of ints); got {shape!r}") from None
    return shape


def _spatial_rank(input_shape, weight_shape) -> tuple[int, int | None, int]:
    """(ndim, batch, channels) from the shapes; the weight's rank decides the number of spatial axes."""
    if len(weight_shape) < 3:
        raise TConvError(
            f"weight must have shape (C_in, C_out/groups, *kernel) with at least one spatial axis; got shape {weight_shape}"
        )
    ndim = len(weight_shape) - 2
    if len(input_shape) == ndim + 2:
        batch, channels = input_shape[0], input_shape[1]
    elif len(input_shape) == ndim + 1:
        batch, channels = None, input_shape[0]
    else:
        raise TConvError(
            f"input of shape {input_shape} does not match a weight with {ndim} spatial axes {weight_shape}: "
            f"expected rank {ndim + 2} (N, C, *spatial) or {ndim + 1} (C, *spatial), got rank {len(input_shape)}"
        )
    return ndim, batch, channels


def _plural(n: int, word: str) -> str:
    """``1 channel``, ``3 channels``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _check_channels(which: str, input_shape, weight_shape, groups: int, bias_shape, out_channels: int):
    """Channel rules shared by both directions; ``which`` names the function for the message."""
    ndim = len(weight_shape) - 2
    channels = input_shape[-ndim - 1]
    if groups < 1:
        raise TConvError(f"groups={groups!r} must be a positive int")
    if any(n < 1 for n in weight_shape):
        raise TConvError(f"weight of shape {tuple(weight_shape)} is empty: every axis must be at least 1")
    # conv_transpose reads weight (C_in, C_out/groups, *k); conv reads weight (C_out, C_in/groups, *k).
    expect = weight_shape[0] if which == "conv_transpose" else weight_shape[1] * groups
    if channels != expect and len(input_shape) == ndim + 1 and input_shape[1] == expect:
        # Read unbatched, (C, *spatial) has the wrong C; read (N, C, ...) the channels fit and a spatial
        # axis is missing. The second is the likelier mistake: say that.
        raise TConvError(
            f"input of shape {tuple(input_shape)} lacks a spatial axis: a weight with {(f'{ndim} spatial axis' if ndim == 1 else f'{ndim} spatial axes')} "
            f"{tuple(weight_shape)} needs (N, C, {', '.join(['*'] * ndim)}) or unbatched (C, {', '.join(['*'] * ndim)}); "
            f"read as unbatched it has {_plural(channels, 'channel')} where the weight expects {expect}"
        )
    if channels != expect:
        raise TConvError(
            f"input has {_plural(channels, 'channel')} but the weight {tuple(weight_shape)} with groups={groups} "
            f"expects {expect}"
        )
    if weight_shape[0] % groups:
        raise TConvError(f"groups={groups} must divide the weight's first axis ({weight_shape[0]} channels)")
    if bias_shape is not None and tuple(bias_shape) != (out_channels,):
        raise TConvError(
            f"bias must have shape ({out_channels},), one value per output channel; got shape {tuple(bias_shape)}"
        )


def _checked(which: str, input_shape, weight_shape, stride, dilation, groups, bias_shape):
    """The checks both directions share: ``((input_shape, weight_shape), ndim, batch, channels, stride, dilation)``."""
    shapes = _as_shape("input shape", input_shape), _as_shape("weight shape", weight_shape)
    ndim, batch, channels = _spatial_rank(*shapes)
    stride, dilation = per_axis("stride", stride, ndim, 1), per_axis("dilation", dilation, ndim, 1)
    if not is_int(groups):
        raise TConvTypeError(f"groups must be an int; got {groups!r}")
    out_channels = shapes[1][1] * groups if which == "conv_transpose" else shapes[1][0]
    _check_channels(which, *shapes, groups, bias_shape, out_channels)
    if batch is not None and batch < 0 or any(n < 1 for n in shapes[0][-ndim:]) or channels < 1:
        raise TConvError(
            f"input of shape {shapes[0]} must have at least one channel and one element on every spatial axis"
        )
    return shapes, ndim, batch, channels, stride, dilation


# ---- the two constructors ----------------------------------------------------------------------


def transpose_geometry(
    input_shape: Sequence[int],
    weight_shape: Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: Padding = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
    *,
    output_size: Sequence[int] | None = None,
    bias_shape: Sequence[int] | None = None,
    allow_empty: bool = False,
) -> Geometry:
    """Check the arguments of ``conv_transpose`` and return its :class:`Geometry`.

    Parameters
    ----------
    input_shape, weight_shape
        ``(N, C_in, *i)`` or ``(C_in, *i)``, and ``(C_in, C_out/groups, *k)``.
    stride, padding, output_padding, groups, dilation, output_size
        As in :func:`tconv.conv_transpose`.
    bias_shape
        The bias's shape, checked to be ``(C_out,)``; None for no bias.
    allow_empty
        Accept an output size of 0 on a spatial axis (torch.nn returns such empty outputs); a
        negative size is refused either way. False (the core's rule): every size must be ≥ 1.

    Returns
    -------
    Geometry
        The normalised geometry (``transposed=True``).

    Raises
    ------
    TConvError
        An argument breaks a rule; the message names the parameter, the rule and the values.

    Per spatial axis, with ``F = (i−1)·s + d·(k−1) + 1``:

    * ``padding=p`` (int or per axis): ``b = e = p`` (PyTorch);
    * ``padding=((b, e), ...)``: crops ``b`` and ``e`` (ONNX pads);
    * ``padding="valid"``: ``b = e = 0``;
    * ``padding="same"``: TensorFlow's rule ``o = i·s``: ``b = ⌊max(k_eff − s, 0)/2⌋`` and
      ``e = k_eff − s − b`` (negative when ``k_eff < s``: zeros appended);

    then ``o = F − b − e + op``. ``output_size`` (spatial sizes or the whole shape) picks ``op``
    instead; every ``op`` with ``0 ≤ op < max(s, d)`` is legal, as in PyTorch's ``output_padding``.

    >>> g = transpose_geometry((2, 4, 5, 5), (4, 3, 3, 3), stride=2, padding="same")
    >>> g.output_shape, g.begin, g.end
    ((2, 3, 10, 10), (0, 0), (1, 1))
    """
    g = base_geometry(input_shape, weight_shape, stride, padding, groups, dilation, bias_shape)
    input_shape, ndim, base, stride, dilation = _as_shape("input", input_shape), g.ndim, g.large, g.stride, g.dilation
    legal_op = "0 <= output_padding < max(stride, dilation)"
    if output_size is not None:
        if output_padding not in (0, None) and per_axis("output_padding", output_padding, ndim, 0) != (0,) * ndim:
            raise TConvError(f"give output_padding={output_padding!r} or output_size={output_size!r}, not both")
        size = _as_shape("output_size", output_size)
        if len(size) == len(input_shape):  # the whole shape: (N, C_out, *spatial) or (C_out, *spatial)
            expected_lead = input_shape[: len(input_shape) - ndim - 1] + (g.large_channels,)
            if size[: len(size) - ndim] != expected_lead:
                raise TConvError(
                    f"output_size={tuple(size)} must start with {expected_lead} (batch and output channels)"
                )
            size = size[-ndim:]
        if len(size) != ndim:
            raise TConvError(
                f"output_size={tuple(output_size)} must give {ndim} spatial sizes or the whole output shape"
            )
        output_padding = tuple(o - n for o, n in zip(size, base))
        if not all(0 <= op < max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
            ranges = ", ".join(f"{n}..{n + max(s, d) - 1}" for n, s, d in zip(base, stride, dilation))
            raise TConvError(
                f"output_size={tuple(size)} is out of range: with these arguments each spatial size must lie in {ranges} "
                f"(the sizes that {legal_op} can reach)"
            )
    output_padding = per_axis("output_padding", 0 if output_padding is None else output_padding, ndim, 0)
    if not all(op < max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        raise TConvError(
            f"output_padding={output_padding} must be smaller than stride={stride} or dilation={dilation} on every axis"
        )
    large = tuple(n + op for n, op in zip(base, output_padding))
    if any(o < (0 if allow_empty else 1) for o in large):
        raise TConvError(
            f"the output would {'have a negative size' if allow_empty else 'be empty'}: spatial size {large} from input "
            f"{g.small}, kernel {g.kernel}, stride {stride}, dilation {dilation}, padding {padding!r} "
            f"(the crop b + e may not exceed F - {int(not allow_empty)} = {tuple(f - (not allow_empty) for f in g.full)})"
        )
    return dataclasses.replace(g, large=large)


def base_geometry(
    input_shape: Sequence[int],
    weight_shape: Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: Padding = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
    bias_shape: Sequence[int] | None = None,
) -> Geometry:
    """:func:`transpose_geometry` at ``output_padding=0``, every check made but the output's size:
    its ``large``, ``F − b − e`` per axis, may be 0 or negative (``output_padding`` may lift it).
    torch.nn's ``ConvTranspose`` takes an ``output_size`` from there up to ``stride − 1`` more.

    >>> base_geometry((1, 1, 2, 2), (1, 1, 3, 4), stride=(1, 2), padding=(1, 3)).large
    (2, 0)
    """
    shapes, ndim, batch, channels, strides, dilations = _checked(
        "conv_transpose", input_shape, weight_shape, stride, dilation, groups, bias_shape
    )
    small, kernel, large_channels = shapes[0][-ndim:], shapes[1][2:], shapes[1][1] * groups
    k_eff = tuple(effective_kernel(k, d) for k, d in zip(kernel, dilations))
    given = padding_pairs(padding, ndim)
    pairs = same_pairs(k_eff, strides) if isinstance(given, str) else given  # the only word left is "same"
    base = tuple(full_size(i, s, ke) - b - e for i, s, ke, (b, e) in zip(small, strides, k_eff, pairs))
    begin = tuple(b for b, _ in pairs)
    return Geometry(True, batch, channels, large_channels, groups, small, base, kernel, strides, dilations, begin)


def conv_geometry(
    input_shape: Sequence[int],
    weight_shape: Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: Padding = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    *,
    bias_shape: Sequence[int] | None = None,
) -> Geometry:
    """Check the arguments of ``conv`` and return its :class:`Geometry`.

    Parameters
    ----------
    input_shape, weight_shape
        ``(N, C_in, *n)`` or ``(C_in, *n)``, and ``(C_out, C_in/groups, *k)``.
    stride, padding, dilation, groups
        As in :func:`tconv.conv`.
    bias_shape
        The bias's shape, checked to be ``(C_out,)``; None for no bias.

    Returns
    -------
    Geometry
        The normalised geometry (``transposed=False``).

    Raises
    ------
    TConvError
        An argument breaks a rule; the message names the parameter, the rule and the values.

    Per spatial axis, with left/right padding ``(b, e)``: ``o = ⌊(n + b + e − k_eff)/s⌋ + 1``.
    ``padding="same"`` is TensorFlow's rule (it equals PyTorch's where PyTorch allows it, stride 1):
    ``o = ⌈n/s⌉``, total padding ``P = max((o−1)·s + k_eff − n, 0)``, ``b = ⌊P/2⌋``.

    >>> conv_geometry((1, 3, 10, 10), (8, 3, 3, 3), stride=2, padding=1).output_shape
    (1, 8, 5, 5)
    """
    shapes, ndim, batch, channels, strides, dilations = _checked(
        "conv", input_shape, weight_shape, stride, dilation, groups, bias_shape
    )
    large, kernel, weight_shape = shapes[0][-ndim:], shapes[1][2:], shapes[1]
    k_eff = tuple(effective_kernel(k, d) for k, d in zip(kernel, dilations))
    given = padding_pairs(padding, ndim)
    pairs = conv_same_pairs(large, k_eff, strides) if isinstance(given, str) else given
    small = tuple(conv_size(n, s, ke, b + e) for n, (b, e), ke, s in zip(large, pairs, k_eff, strides))
    if any(n + b + e < ke for n, (b, e), ke in zip(large, pairs, k_eff)):
        raise TConvError(
            f"the output would be empty: padded input {tuple(n + b + e for n, (b, e) in zip(large, pairs))} is smaller "
            f"than the dilated kernel {k_eff}"
        )
    begin = tuple(b for b, _ in pairs)
    return Geometry(False, batch, weight_shape[0], channels, groups, small, large, kernel, strides, dilations, begin)


def output_shape(
    input_shape: Sequence[int],
    weight_shape: Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: Padding = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
    *,
    output_size: Sequence[int] | None = None,
) -> tuple[int, ...]:
    """The shape ``conv_transpose`` would return, computing nothing.

    Parameters
    ----------
    input_shape, weight_shape, stride, padding, output_padding, groups, dilation, output_size
        As in :func:`tconv.conv_transpose`, with shapes in place of arrays.

    Returns
    -------
    tuple of int
        The output's shape.

    Raises
    ------
    TConvError
        An argument breaks a rule.

    >>> output_shape((1, 1, 2, 2), (1, 1, 2, 2))
    (1, 1, 3, 3)
    >>> output_shape((16, 32, 64, 64), (32, 32, 3, 3), stride=2, padding=1, output_padding=1)
    (16, 32, 128, 128)
    """
    return transpose_geometry(
        input_shape, weight_shape, stride, padding, output_padding, groups, dilation, output_size=output_size
    ).output_shape
