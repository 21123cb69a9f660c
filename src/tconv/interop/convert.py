"""Transposed-convolution arguments from one framework to another, through one canonical description.

Every framework computes the full output ``F = (i−1)·s + k_eff`` (``k_eff = d·(k−1) + 1``) and keeps
the window that starts ``b`` cells in and ends ``e`` cells before the end (negative: zeros added):
``o = F − b − e``. :class:`Canonical` holds exactly ``(k, s, d, b, e)`` per axis; a ``from_*``
function reads one framework's arguments into it, a ``to_*`` function writes it out as
:class:`Arguments` — the other side's keyword arguments, and the crop still to apply when that side
cannot say it (PyTorch crops ``padding`` at both ends, so TensorFlow's ``same`` with an odd
``k_eff − s`` is out of its reach).

>>> c = from_keras(3, strides=2, padding="same")
>>> c.begin, c.end
((0,), (1,))
>>> print(to_torch(c))
torch: ConvTranspose1d(kernel_size=3, stride=2, padding=0, output_padding=0, dilation=1)
  not exact: PyTorch crops padding=b at the start and padding − output_padding at the end
  then crop (start, end) = ((0, 1),)  (negative: insert that many zeros)
  weight: torch (I, O/groups, *k)

The kernel layouts (``kernel_to_torch``/``kernel_from_torch``) and channels-last activations
(``activations_to_torch``/``activations_from_torch``) are here too. ``tconv convert`` prints a
conversion from the command line; see :func:`main`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tconv.arguments import per_axis
from tconv.errors import TConvError
from tconv.interop.frameworks import torch_axis
from tconv.interop.layouts import (  # re-exported: converting arguments and moving arrays go together
    FRAMEWORKS,
    KERNEL_LAYOUTS,
    activations_from_torch,
    activations_to_torch,
    apply_crop,
    kernel_from_torch,
    kernel_to_torch,
)

__all__ = [
    "Canonical",
    "Arguments",
    "FRAMEWORKS",
    "from_tconv",
    "from_torch",
    "from_onnx",
    "from_keras",
    "from_tensorflow",
    "from_jax",
    "from_mlx",
    "to_tconv",
    "to_torch",
    "to_onnx",
    "to_keras",
    "to_jax",
    "to_mlx",
    "convert",
    "kernel_to_torch",
    "kernel_from_torch",
    "activations_to_torch",
    "activations_from_torch",
    "apply_crop",
]

_DUMMY_INPUT = 1 << 20  # crops do not depend on the input size for these spellings; F only has to be large


@dataclass(frozen=True)
class Canonical:
    """One transposed convolution's geometry: per axis kernel, stride, dilation and the crop ``(b, e)``
    of the full output ``F = (i−1)·s + d·(k−1) + 1`` (negative crop: zeros added). ``o = F − b − e``."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    begin: tuple[int, ...]
    end: tuple[int, ...]
    source: str = ""
    input: tuple[int, ...] | None = None

    @property
    def ndim(self) -> int:
        return len(self.kernel)

    @property
    def effective_kernel(self) -> tuple[int, ...]:
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))

    def output_size(self, input) -> tuple[int, ...]:
        """``o = (i−1)·s + k_eff − b − e`` per axis."""
        input = per_axis("input", input, self.ndim, 1)
        return tuple(
            (i - 1) * s + ke - b - e
            for i, s, ke, b, e in zip(input, self.stride, self.effective_kernel, self.begin, self.end)
        )

    def __str__(self) -> str:
        lines = [f"from {self.source}" if self.source else "canonical geometry"]
        for a in range(self.ndim):
            k, s, d, ke, b, e = (
                self.kernel[a],
                self.stride[a],
                self.dilation[a],
                self.effective_kernel[a],
                self.begin[a],
                self.end[a],
            )
            size = f"o = (i-1)*{s} + {ke - b - e}"
            if self.input:
                i = self.input[a]
                size += f" = {(i - 1) * s + ke - b - e} for i={i}"
            lines.append(f"  axis {a}: k={k} s={s} d={d} k_eff={ke}; crop b={b} at the start, e={e} at the end; {size}")
        if any(v < 0 for v in self.begin + self.end):
            lines.append("  (a negative crop means that many zeros added)")
        return "\n".join(lines)


@dataclass(frozen=True)
class Arguments:
    """One framework's arguments for a :class:`Canonical` geometry.

    ``crop`` is ``None`` when ``args`` say it exactly; otherwise ``(start, end)`` per axis still to
    cut from that framework's result (negative: that many zeros to insert there).
    """

    framework: str
    call: str
    args: dict
    crop: tuple[tuple[int, int], ...] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def exact(self) -> bool:
        return self.crop is None

    def to_dict(self) -> dict:
        return {
            "framework": self.framework,
            "call": self.call,
            "args": self.args,
            "exact": self.exact,
            "crop": None if self.crop is None else [list(c) for c in self.crop],
            "kernel_layout": KERNEL_LAYOUTS[self.framework],
            "notes": list(self.notes),
        }

    def __str__(self) -> str:
        shown = ", ".join(
            f"{k}={_short(v)!r}" if isinstance(v, str) else f"{k}={_short(v)}" for k, v in self.args.items()
        )
        lines = [f"{self.framework}: {self.call}({shown})"]
        lines += [f"  {n}" for n in self.notes]
        if self.crop is not None:
            lines.append(f"  then crop (start, end) = {self.crop}  (negative: insert that many zeros)")
        lines.append(f"  weight: {self.framework} {KERNEL_LAYOUTS[self.framework]}")
        return "\n".join(lines)


def _short(v):
    """Per-axis tuples whose entries are all equal print as one int, as the frameworks accept."""
    if isinstance(v, tuple) and v and all(x == v[0] for x in v) and not isinstance(v[0], tuple):
        return v[0]
    return v


# ---- reading each framework ---------------------------------------------------------------------


def _axes(kernel, stride, dilation):
    kernel = (kernel,) if isinstance(kernel, int) else tuple(kernel)
    n = len(kernel)
    return per_axis("kernel", kernel, n, 1), per_axis("stride", stride, n, 1), per_axis("dilation", dilation, n, 1)


def _canonical(kernel, stride, dilation, begin, end, source, input):
    return Canonical(
        kernel,
        stride,
        dilation,
        tuple(begin),
        tuple(end),
        source,
        None if input is None else per_axis("input", input, len(kernel), 1),
    )


def from_tconv(kernel, stride=1, padding=0, output_padding=0, dilation=1, *, input=None) -> Canonical:
    """``tconv.conv_transpose``'s spelling: int, per axis, ``(b, e)`` pairs, ``"same"``, ``"valid"``; then ``op``."""
    from tconv.arguments import transpose_geometry

    k, s, d = _axes(kernel, stride, dilation)
    size = (_DUMMY_INPUT,) * len(k) if input is None else per_axis("input", input, len(k), 1)
    g = transpose_geometry((1, *size), (1, 1, *k), s, padding, output_padding, 1, d)
    return _canonical(k, s, d, g.begin, g.end, f"tconv: padding={padding!r}, output_padding={output_padding!r}", input)


def from_torch(kernel, stride=1, padding=0, output_padding=0, dilation=1, *, input=None) -> Canonical:
    """PyTorch ``ConvTranspose*d``: ``b = p``, ``e = p − op``."""
    k, s, d = _axes(kernel, stride, dilation)
    p = per_axis("padding", padding, len(k), 0)
    op = per_axis("output_padding", output_padding, len(k), 0)
    if not all(o < max(si, di) for o, si, di in zip(op, s, d)):
        raise TConvError(
            f"output_padding={op} must be smaller than stride={s} or dilation={d} on every axis (PyTorch's rule)"
        )
    return _canonical(
        k,
        s,
        d,
        p,
        [pi - oi for pi, oi in zip(p, op)],
        f"torch: padding={padding!r}, output_padding={output_padding!r}",
        input,
    )


def from_mlx(kernel, stride=1, padding=0, output_padding=0, dilation=1, *, input=None) -> Canonical:
    """MLX ``conv_transpose*d``: the crop is PyTorch's (``b = p``, ``e = p − op``); only the layouts differ."""
    c = from_torch(kernel, stride, padding, output_padding, dilation, input=input)
    return _canonical(c.kernel, c.stride, c.dilation, c.begin, c.end, "mlx" + c.source[5:], input)


def from_onnx(
    kernel,
    *,
    input=None,
    strides=None,
    pads=None,
    auto_pad="NOTSET",
    output_padding=None,
    output_shape=None,
    dilations=None,
) -> Canonical:
    """ONNX ``ConvTranspose`` attributes, as :func:`tconv.onnx.resolve_pads` reads them."""
    from tconv.interop.onnx import resolve_pads

    k, s, d = _axes(kernel, 1 if strides is None else strides, 1 if dilations is None else dilations)
    if output_shape is not None and input is None:
        raise TConvError("output_shape fixes the crop only together with the input size: give input=")
    size = (_DUMMY_INPUT,) * len(k) if input is None else per_axis("input", input, len(k), 1)
    r = resolve_pads(
        size,
        k,
        auto_pad=auto_pad,
        dilations=d,
        output_padding=output_padding,
        output_shape=output_shape,
        pads=pads,
        strides=s,
    )
    return _canonical(
        k,
        s,
        d,
        r.begin,
        r.end,
        f"onnx: auto_pad={auto_pad!r}, pads={pads}, output_padding={output_padding}, output_shape={output_shape}",
        input,
    )


def _tf_begin(full: int, out: int, padding: str) -> int:
    # TensorFlow (conv_grad_shape_utils.cc) treats conv_transpose as the gradient of a conv from
    # `out` to `i`: SAME pads that conv by P = max((i−1)·s + k_eff − out, 0) = max(F − out, 0),
    # ⌊P/2⌋ before; VALID pads nothing.
    return max(full - out, 0) // 2 if padding == "same" else 0


def _tf_padding(padding) -> str:
    word = str(padding).lower()
    if word not in ("same", "valid"):
        raise TConvError(f"padding={padding!r} must be 'same' or 'valid' (TensorFlow/Keras)")
    return word


def from_keras(kernel, strides=1, padding="valid", output_padding=None, dilation_rate=1, *, input=None) -> Canonical:
    """Keras ``Conv*DTranspose`` (Keras 3, TensorFlow backend).

    Output size (Keras ``deconv_output_length``): without ``output_padding`` ``o = i·s`` (same) or
    ``(i−1)·s + max(k_eff, s)`` (valid); with it ``o = (i−1)·s + k_eff − 2·pad + op``, ``pad =
    ⌊k_eff/2⌋`` (same) or 0. TensorFlow then places the window: ``b = ⌊max(F − o, 0)/2⌋`` (same), 0 (valid).

    >>> c = from_keras(3, strides=2, padding="same", output_padding=1)
    >>> c.begin, c.end  # not PyTorch's padding=1, output_padding=1 (b = 1, e = 0)
    ((0,), (1,))
    """
    k, s, d = _axes(kernel, strides, dilation_rate)
    _keras_strides_and_dilation(s, d)
    padding = _tf_padding(padding)
    op = None if output_padding is None else per_axis("output_padding", output_padding, len(k), 0)
    begin, end = [], []
    for a, (ke, si) in enumerate(zip((dd * (kk - 1) + 1 for kk, dd in zip(k, d)), s)):
        full = _DUMMY_INPUT * si - si + ke  # F for a large i; b, e do not depend on i
        if op is None:
            out = _DUMMY_INPUT * si if padding == "same" else full - ke + max(ke, si)
        else:
            if op[a] >= si:
                raise TConvError(f"output_padding={op} must be smaller than strides={s} (Keras' rule)")
            out = full - 2 * (ke // 2 if padding == "same" else 0) + op[a]
            # TensorFlow checks that a SAME conv from `out` gives back i: ⌈out/s⌉ = i.
            if padding == "same" and not 1 <= ke % 2 + op[a] <= si:
                raise TConvError(
                    f"padding='same' with output_padding={op[a]} on axis {a} gives an output TensorFlow refuses "
                    f"(it needs 1 <= k_eff % 2 + output_padding <= stride; k_eff={ke}, stride={si})"
                )
        b = _tf_begin(full, out, padding)
        begin.append(b)
        end.append(full - b - out)
    return _canonical(k, s, d, begin, end, f"keras: padding={padding!r}, output_padding={output_padding!r}", input)


def from_tensorflow(kernel, strides, padding, output_shape, input, dilations=1) -> Canonical:
    """``tf.nn.conv_transpose(x, kernel, output_shape, strides, padding, dilations=...)``: the window is
    placed by :func:`_tf_begin` for the requested spatial ``output_shape``."""
    k, s, d = _axes(kernel, strides, dilations)
    padding = _tf_padding(padding)
    size, out = per_axis("input", input, len(k), 1), per_axis("output_shape", output_shape, len(k), 1)
    begin, end = [], []
    for i, o, kk, si, di in zip(size, out, k, s, d):
        ke = di * (kk - 1) + 1
        full = (i - 1) * si + ke
        ok = -(-o // si) == i if padding == "same" else (o - ke) // si + 1 == i and o >= ke
        if not ok:
            raise TConvError(
                f"output_shape={out} does not fit input={size} with padding={padding!r} (TensorFlow refuses it)"
            )
        b = _tf_begin(full, o, padding)
        begin.append(b)
        end.append(full - b - o)
    return _canonical(k, s, d, begin, end, f"tensorflow: padding={padding!r}, output_shape={out}", size)


def from_jax(kernel, strides=1, padding="VALID", rhs_dilation=1, *, input=None) -> Canonical:
    """``jax.lax.conv_transpose``: it convolves the stride-dilated input, padded ``(lo, hi)``, with the
    kernel, so ``b = k_eff − 1 − lo`` and ``e = k_eff − 1 − hi``. ``'SAME'`` is TensorFlow's same and
    ``'VALID'`` Keras' valid (``o = (i−1)·s + max(k_eff, s)``). ``transpose_kernel`` changes only the
    kernel layout (see :func:`kernel_to_torch`).
    """
    k, s, d = _axes(kernel, strides, rhs_dilation)
    keff = [dd * (kk - 1) + 1 for kk, dd in zip(k, d)]
    if isinstance(padding, str):
        word = padding.upper()
        if word not in ("SAME", "VALID"):
            raise TConvError(f"padding={padding!r} must be 'SAME', 'VALID' or (lo, hi) pairs (JAX)")
        if word == "SAME":  # jax _conv_transpose_padding: the TensorFlow split
            begin = [max(ke - si, 0) // 2 for ke, si in zip(keff, s)]
            end = [ke - si - b for ke, si, b in zip(keff, s, begin)]
        else:
            begin, end = [0] * len(k), [min(ke - si, 0) for ke, si in zip(keff, s)]
    else:
        pairs = [tuple(p) for p in padding]
        if len(pairs) != len(k) or any(len(p) != 2 for p in pairs):
            raise TConvError(f"padding={padding!r} must give one (lo, hi) pair per spatial axis ({len(k)})")
        begin = [ke - 1 - lo for ke, (lo, _) in zip(keff, pairs)]
        end = [ke - 1 - hi for ke, (_, hi) in zip(keff, pairs)]
    return _canonical(k, s, d, begin, end, f"jax: padding={padding!r}", input)


# ---- writing each framework -----------------------------------------------------------------------


def to_tconv(c: Canonical) -> Arguments:
    """``padding=((b, e), ...)`` pairs and ``output_padding`` (for a negative ``e``): exact whenever
    ``b ≥ 0`` and ``−e < max(s, d)``."""
    pairs, op, crop = [], [], []
    for b, e, s, d in zip(c.begin, c.end, c.stride, c.dilation):
        add = min(max(-e, 0), max(s, d) - 1)  # zeros at the end that output_padding can append
        pairs.append((max(b, 0), max(e, 0)))
        op.append(add)
        crop.append((min(b, 0), min(e + add, 0)))
    exact = all(cc == (0, 0) for cc in crop)
    args = {"stride": c.stride, "padding": tuple(pairs), "output_padding": tuple(op), "dilation": c.dilation}
    return Arguments("tconv", "tconv.conv_transpose", args, None if exact else tuple(crop))


def to_torch(c: Canonical, *, framework="torch") -> Arguments:
    """PyTorch: ``padding = b`` and ``output_padding = b − e``, exact when ``0 ≤ b − e < max(s, d)``.

    Otherwise the call with ``padding = max(min(b, e), 0)`` (and the ``output_padding`` that takes
    over as much of a zero tail as it can) followed by the remaining crop.
    """
    axes = [torch_axis(b, e, s, d) for b, e, s, d in zip(c.begin, c.end, c.stride, c.dilation)]
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


def _keras_strides_and_dilation(strides, dilation) -> None:
    if any(s > 1 for s in strides) and any(d > 1 for d in dilation):
        raise TConvError(
            f"Keras refuses strides > 1 together with dilation_rate > 1; got strides={strides}, dilation_rate={dilation}"
        )


def to_jax(c: Canonical) -> Arguments:
    """JAX ``lax.conv_transpose``: always exact, ``padding = ((k_eff − 1 − b, k_eff − 1 − e), ...)``
    (negative values crop); ``'SAME'``/``'VALID'`` when they give the same thing."""
    for word in ("SAME", "VALID"):
        j = from_jax(c.kernel, c.stride, word, c.dilation)
        if (j.begin, j.end) == (c.begin, c.end):
            padding = word
            break
    else:
        padding = tuple((ke - 1 - b, ke - 1 - e) for ke, b, e in zip(c.effective_kernel, c.begin, c.end))
    args = {"strides": c.stride, "padding": padding, "rhs_dilation": c.dilation, "transpose_kernel": True}
    return Arguments(
        "jax", "jax.lax.conv_transpose", args, None, ("dimension_numbers default: ('NHWC', 'HWIO', 'NHWC'); no groups",)
    )


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
