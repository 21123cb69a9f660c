"""Reading each framework's transposed-convolution arguments into a :class:`~tconv.interop.canonical.Canonical`.

One ``from_*`` function per framework: PyTorch (and MLX, which crops alike), tconv's own spelling,
ONNX attributes, Keras layers, ``tf.nn.conv_transpose`` with its explicit output shape, and
``jax.lax.conv_transpose``. Each applies that framework's rules and refuses, naming the rule, what
the framework refuses.
"""

from __future__ import annotations

from tconv.arguments import per_axis
from tconv.errors import TConvError
from tconv.geometry import effective_kernel, full_size
from tconv.interop.canonical import _DUMMY_INPUT, Canonical, _axes, _canonical

__all__ = ["from_tconv", "from_torch", "from_mlx", "from_onnx", "from_keras", "from_tensorflow", "from_jax"]


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


def _keras_strides_and_dilation(strides, dilation) -> None:
    if any(s > 1 for s in strides) and any(d > 1 for d in dilation):
        raise TConvError(
            f"Keras refuses strides > 1 together with dilation_rate > 1; got strides={strides}, dilation_rate={dilation}"
        )


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
    for a, (ke, si) in enumerate(zip((effective_kernel(kk, dd) for kk, dd in zip(k, d)), s)):
        full = full_size(_DUMMY_INPUT, si, ke)  # F for a large i; b, e do not depend on i
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
        ke = effective_kernel(kk, di)
        full = full_size(i, si, ke)
        # TensorFlow checks that the forward convolution from `o` gives back `i`: ⌈o/s⌉ (SAME), or
        # trunc((o − k_eff)/s) + 1 (VALID, C's division toward zero: for i = 1 every o in
        # k_eff − s + 1 .. k_eff + s − 1, smaller than k_eff too; the window is then [0, o) of F).
        ok = -(-o // si) == i if padding == "same" else int((o - ke) / si) + 1 == i
        if not ok:
            rule = "ceil(o/s) = i" if padding == "same" else "trunc((o - k_eff)/s) + 1 = i"
            raise TConvError(
                f"output_shape={out} does not fit input={size} with padding={padding!r}: TensorFlow needs {rule} "
                f"on every axis (here o={o}, k_eff={ke}, s={si}, i={i})"
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
    keff = [effective_kernel(kk, dd) for kk, dd in zip(k, d)]
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
