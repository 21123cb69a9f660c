"""Writing a :class:`~tconv.interop.canonical.Canonical` geometry as each framework's arguments.

One ``to_*`` function per framework returns :class:`~tconv.interop.canonical.Arguments`: the
keyword arguments, and the crop still to apply where the framework cannot say the window (see
:func:`~tconv.interop.layouts.apply_crop`). :func:`convert` picks the writer by name.
"""

from __future__ import annotations

from tconv.errors import TConvError
from tconv.interop.canonical import Arguments, Canonical
from tconv.interop.frameworks import torch_axis
from tconv.interop.layouts import FRAMEWORKS
from tconv.interop.readers import _keras_strides_and_dilation, from_jax, from_keras

__all__ = ["to_tconv", "to_torch", "to_mlx", "to_onnx", "to_keras", "to_jax", "convert"]


def to_tconv(c: Canonical) -> Arguments:
    """``padding=((b, e), ...)`` pairs and ``output_padding`` (for a negative ``e``): exact whenever
    ``b ≥ 0`` and ``−e < max(s, d)``, and the crop does not run past the full output.

    A crop at one end together with zeros at the other can move the window wholly off the full
    output for small inputs (JAX's ``padding=((-8, 6),)`` on 4 inputs, k = 3, s = 2: ``b = 10 ≥ F =
    9``), where the framework returns zeros and ``padding=(b, 0)`` would leave tconv nothing to
    return. So that crop goes into tconv's padding only up to ``k_eff − 1`` (``F ≥ k_eff`` for every
    input, so tconv's output is never empty) and the rest into the crop, which
    :func:`~tconv.interop.layouts.apply_crop` fills with zeros where it runs past the end.

    >>> from tconv.interop.readers import from_jax
    >>> to_tconv(from_jax(3, 2, ((-8, 6),))).crop   # b = 10, e = -4: tconv crops 2, the rest after
    ((8, -3),)
    """
    pairs, op, crop = [], [], []
    for b, e, s, d, ke in zip(c.begin, c.end, c.stride, c.dilation, c.effective_kernel):
        add = min(max(-e, 0), max(s, d) - 1)  # zeros at the end that output_padding can append
        # Where zeros are added at one end, tconv crops the other end by at most k_eff − 1.
        b_in = max(b, 0) if e >= 0 else min(max(b, 0), ke - 1)
        e_in = max(e, 0) if b >= 0 else min(max(e, 0), ke - 1)
        pairs.append((b_in, e_in))
        op.append(add)
        crop.append((b - b_in, e - e_in + add))
    exact = all(cc == (0, 0) for cc in crop)
    args = {"stride": c.stride, "padding": tuple(pairs), "output_padding": tuple(op), "dilation": c.dilation}
    return Arguments("tconv", "tconv.conv_transpose", args, None if exact else tuple(crop))


def to_torch(c: Canonical, *, framework="torch") -> Arguments:
    """PyTorch: ``padding = b`` and ``output_padding = b − e``, exact when ``0 ≤ b − e < max(s, d)``.

    Otherwise the call with ``padding = max(min(b, e), 0)`` (and the ``output_padding`` that takes
    over as much of a zero tail as it can) followed by the remaining crop.

    MLX pads the stride-dilated input by ``k_eff − 1 − p`` (and ``k_eff − 1 − p + op``) inside, and
    a negative value there slices the input *before* the dilation (``conv_general`` in MLX's
    ``ops.cpp``), which is wrong for stride > 1; so for MLX ``p`` stays ≤ ``k_eff − 1`` and the rest
    is cropped after:

    >>> from tconv.interop.readers import from_torch
    >>> a = to_mlx(from_torch(3, 2, 4))
    >>> a.args["padding"], a.crop
    ((2,), ((2, 2),))
    """
    axes = [torch_axis(b, e, s, d) for b, e, s, d in zip(c.begin, c.end, c.stride, c.dilation)]
    capped = False
    if framework == "mlx":  # keep MLX's own padding k_eff − 1 − p non-negative
        for a, ke in enumerate(c.effective_kernel):
            p, op, start, end = axes[a]
            cut = max(p - (ke - 1), 0)
            axes[a] = (p - cut, op, start + cut, end + cut)
            capped |= cut > 0
    pad, op, crop = [a[0] for a in axes], [a[1] for a in axes], [(a[2], a[3]) for a in axes]
    exact = all(cc == (0, 0) for cc in crop)
    name = {"torch": f"ConvTranspose{c.ndim}d", "mlx": f"mlx.nn.ConvTranspose{c.ndim}d"}[framework]
    args = {
        "kernel_size": c.kernel,
        "stride": c.stride,
        "padding": tuple(pad),
        "output_padding": tuple(op),
        "dilation": c.dilation,
    }
    notes = (
        ()
        if exact
        else (
            f"not exact: {'PyTorch' if framework == 'torch' else 'MLX'} crops padding=b at the start and padding − output_padding at the end",
        )
    )
    if capped:
        notes += ("padding kept ≤ k_eff − 1: MLX computes a larger one wrong for stride > 1 (ops.cpp, not run here)",)
    return Arguments(framework, name, args, None if exact else tuple(crop), notes)


def to_mlx(c: Canonical) -> Arguments:
    """MLX: PyTorch's arguments (channels-last activations, weight ``(O, *k, I/groups)``)."""
    return to_torch(c, framework="mlx")


def to_onnx(c: Canonical) -> Arguments:
    """ONNX: ``pads = [b…, e…]`` for ``b, e ≥ 0``; a zero tail (``e < 0``) by ``output_padding`` when
    ``−e < stride`` (onnxruntime's limit, stricter than the spec's ``max(stride, dilation)``)."""
    pads_b, pads_e, op, crop, notes = [], [], [], [], []
    for b, e, s in zip(c.begin, c.end, c.stride):
        add = min(max(-e, 0), s - 1)
        pads_b.append(max(b, 0))
        pads_e.append(max(e, 0))
        op.append(add)
        crop.append((min(b, 0), min(e + add, 0)))
    exact = all(cc == (0, 0) for cc in crop)
    args = {
        "kernel_shape": list(c.kernel),
        "strides": list(c.stride),
        "dilations": list(c.dilation),
        "pads": pads_b + pads_e,
    }
    if any(op):
        args["output_padding"] = op
    return Arguments("onnx", "ConvTranspose", args, None if exact else tuple(crop), tuple(notes))


def to_keras(c: Canonical) -> Arguments:
    """Keras: a ``padding`` (one word for all axes) and ``output_padding`` (``None``, or one value per
    axis) that give this crop, if they exist; otherwise ``padding='valid'`` (the whole ``F``, with
    ``output_padding`` for a zero tail) and a crop."""

    def fits(a, padding, op):  # does axis a come out right with this padding and output_padding?
        try:
            k = from_keras(c.kernel[a], c.stride[a], padding, op, c.dilation[a])
        except TConvError:
            return False
        return (k.begin[0], k.end[0]) == (c.begin[a], c.end[a])

    _keras_strides_and_dilation(c.stride, c.dilation)
    axes = range(c.ndim)
    extra = {"dilation_rate": c.dilation} if any(d > 1 for d in c.dilation) else {}
    for padding in ("same", "valid"):
        if all(fits(a, padding, None) for a in axes):
            ops = None
        else:
            ops = [next((o for o in range(c.stride[a]) if fits(a, padding, o)), None) for a in axes]
            if None in ops:
                continue
        args = {"kernel_size": c.kernel, "strides": c.stride, "padding": padding, **extra}
        if ops is not None:
            args["output_padding"] = tuple(ops)
        return Arguments("keras", f"Conv{c.ndim}DTranspose", args, None)
    # No Keras spelling: valid keeps all of F; output_padding (< s) appends zeros; crop the rest.
    op = tuple(min(max(-e, 0), s - 1) for e, s in zip(c.end, c.stride))
    args = {"kernel_size": c.kernel, "strides": c.stride, "padding": "valid", "output_padding": op, **extra}
    crop = tuple((b, e + o) for b, e, o in zip(c.begin, c.end, op))
    return Arguments(
        "keras",
        f"Conv{c.ndim}DTranspose",
        args,
        crop,
        ("not exact: no padding/output_padding pair of Keras gives this crop",),
    )


def to_jax(c: Canonical) -> Arguments:
    """JAX ``lax.conv_transpose``: ``'SAME'``/``'VALID'`` when they give the same thing, else
    ``padding = ((k_eff − 1 − b, k_eff − 1 − e), ...)`` with the negative part of each side left out
    and cropped by a slice of the result instead.

    JAX reads a negative padding as a crop, but XLA's CPU kernel returns wrong values for it
    (``x = arange(18).reshape(2, 3, 3)``, ``w = ones((3, 2, 3))``, ``padding=((-1, 1),)``: 52 where
    33 is right), so the padding printed is never negative:

    >>> from tconv.interop.readers import from_tconv
    >>> a = to_jax(from_tconv(3, 1, ((3, 1),)))
    >>> a.args["padding"], a.crop, a.slice
    (((0, 1),), ((1, 0),), '[:, 1:, :]')
    """
    for word in ("SAME", "VALID"):
        j = from_jax(c.kernel, c.stride, word, c.dilation)
        if (j.begin, j.end) == (c.begin, c.end):
            padding, crop = word, None
            break
    else:
        pads = [(ke - 1 - b, ke - 1 - e) for ke, b, e in zip(c.effective_kernel, c.begin, c.end)]
        padding = tuple((max(lo, 0), max(hi, 0)) for lo, hi in pads)
        crop = tuple((max(-lo, 0), max(-hi, 0)) for lo, hi in pads)
        crop = None if all(cc == (0, 0) for cc in crop) else crop
    args = {
        "strides": c.stride,
        "padding": padding,
        "rhs_dilation": c.dilation,
        "dimension_numbers": jax_dimension_numbers(c.ndim),
        "transpose_kernel": True,
    }
    notes = ["channels-last lhs, kernel (*k, O, I); JAX has no groups in conv_transpose"]
    if crop is not None:
        notes.append(
            "the slice crops what a negative padding would say: XLA's CPU kernel gets a negative "
            "conv_transpose padding wrong"
        )
    return Arguments(
        "jax", "jax.lax.conv_transpose", args, crop, tuple(notes), inputs=("lhs", "rhs"), sequences=True, sliced=True
    )


def jax_dimension_numbers(ndim: int) -> tuple[str, str, str]:
    """JAX's own default ``dimension_numbers`` for ``ndim`` spatial axes (channels last), spelled out.

    ``lax.conv_transpose`` picks ``('NHC', 'HIO', 'NHC')``, ``('NHWC', 'HWIO', 'NHWC')`` or
    ``('NHWDC', 'HWDIO', 'NHWDC')`` by rank; other ranks take further letters.

    >>> jax_dimension_numbers(1), jax_dimension_numbers(3)
    (('NHC', 'HIO', 'NHC'), ('NHWDC', 'HWDIO', 'NHWDC'))
    """
    spatial = ("HWD" + "EFGJKLMPQRSTUVXYZ")[:ndim]
    return (f"N{spatial}C", f"{spatial}IO", f"N{spatial}C")


_WRITERS = {
    "tconv": to_tconv,
    "torch": to_torch,
    "onnx": to_onnx,
    "keras": to_keras,
    "tensorflow": to_keras,
    "jax": to_jax,
    "mlx": to_mlx,
}


def convert(c: Canonical, to: str) -> Arguments:
    """``c`` written for framework ``to`` (one of :data:`FRAMEWORKS`)."""
    if to not in _WRITERS:
        raise TConvError(f"to={to!r} must be one of {FRAMEWORKS}")
    return _WRITERS[to](c)
