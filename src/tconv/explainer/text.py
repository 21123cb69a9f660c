"""The terminal renderer: an :class:`~tconv.explainer.explanation.Explanation` as text, in colour when asked.

Everything shown is read from the explanation's typed steps; nothing is computed here but layout
(:mod:`tconv.explainer.layout`: grids that fit the terminal's width). The method steps' text is in
:mod:`tconv.explainer.text_methods`; this module has the header, the output size, the channels, the
result and the adjoint, and :func:`render`.

>>> from tconv.explainer.compute import explain
>>> print(render(explain([1, 2], [1, 10, 100], stride=2), sections=("result",), width=80))
tconv explain: conv_transpose of x (2) with w (3)
  stride 2, padding 0, output_padding 0, dilation 1
<BLANKLINE>
x          w
    1  2         1   10  100
<BLANKLINE>
1. Result
   y (5)
         1   10  102   20  200
   all methods agree: scatter, zero_insert, matrix, gemm, polyphase (and the
   sums of the steps above)
   PyTorch: torch.nn.functional.conv_transpose1d(x, w, stride=2, padding=0,
   output_padding=0, dilation=1) — not run (tconv explain --torch, or
   torch_check=True, runs it)
"""

from __future__ import annotations

import numpy as np

from tconv.explainer import text_methods as tm
from tconv.explainer.layout import Style, fmt, grid, side_by_side, terminal_width, use_colour
from tconv.explainer.records import AdjointStep, ChannelsStep, ResultStep, ShapeStep
from tconv.explainer.text_methods import block, idx, para, sbs, shape_text

__all__ = ["Style", "render", "use_colour", "grid", "side_by_side", "fmt"]


def _shape(e, st: ShapeStep, S: Style):
    axes = st.axes
    same = all(ax == axes[0] for ax in axes)
    out = ["   " + axes[0].formula]
    for a, ax in enumerate(axes[:1] if same else axes):
        label = ("(every axis)" if len(axes) > 1 else "") if same else f"(axis {a})"
        out.append("     = " + ax.numbers + ("   " + label if label else ""))
    for note in st.notes:
        out += para(note, S)
    return out


def _channels(e, st: ChannelsStep, S: Style):
    per_in, per_out = st.in_channels // st.groups, st.out_channels // st.groups
    out = para(
        f"{_n(st.in_channels, 'input channel')}, {_n(st.out_channels, 'output channel')}, groups {st.groups}: the weight is "
        f"({', '.join(map(str, st.weight_shape))}) = (C_in, C_out/groups, *k). "
        + (
            f"Each group of {per_in} input channel{'s' if per_in > 1 else ''} feeds its own {per_out} output "
            f"channel{'s' if per_out > 1 else ''}. "
            if st.groups > 1
            else ""
        )
        + "Output channel c adds up conv_transpose(x[ci], w[ci, c mod C_out/groups]) over the input channels ci "
        "of its group:",
        S,
    )
    for oc in st.outputs:
        terms = " + ".join(f"x[{c.in_channel}]*w[{idx(c.kernel_index)}]" for c in oc.contributions)
        more = len(oc.in_channels) - len(oc.contributions)
        out.append(
            f"   y[{oc.channel}] (group {oc.group}, {_channel_span(oc.in_channels)})"
            f" = {terms}{f' + … {more} more' if more else ''}"
        )
        blocks = [block(f"x[{c.in_channel}]*w[{idx(c.kernel_index)}]", c.partial, S) for c in oc.contributions]
        out += sbs([*blocks, block(f"= y[{oc.channel}]", oc.output, S)], S, indent=6)
    if st.more_outputs:
        out.append(f"   … {st.more_outputs} more output channels ({st.out_channels} in all)")
    out += para("The method steps below show one channel: x[0] through w[0, 0].", S)
    return out


def _n(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _channel_span(channels) -> str:
    if len(channels) == 1:
        return f"input channel {channels[0]}"
    return f"input channels {channels[0]}..{channels[-1]}"


def _result(e, st: ResultStep, S: Style):
    y = st.output
    if y.ndim > 2:  # a 2-D layer's (C_out, H, W): one grid per output channel, the first four
        out = para(f"y ({shape_text(y)}){', the first 4 channels' if len(y) > 4 else ''}:", S)
        out += sbs([block(f"y[{c}]", y[c], S) for c in range(min(len(y), 4))], S)
    else:
        out = sbs([block(f"y ({shape_text(y)})", y, S)], S)
    names = ", ".join(st.methods)
    if st.agree:
        out += para(S.good("all methods agree") + f": {names} (and the sums of the steps above)", S)
    else:
        bad = [m for m, ok in {**st.methods, **st.steps_agree}.items() if not ok]
        out.append("   " + S.bad("methods disagree: " + ", ".join(bad)))
    t = st.torch
    if not t.available:
        call = f"torch.nn.functional.{t.call} — " if t.call else ""
        out += para(f"PyTorch: {call}{t.reason}", S)
    else:
        verdict = S.good("gives the same") if t.equal else S.bad("differs")
        out += para(
            f"PyTorch {t.version}: torch.nn.functional.{t.call} {verdict} (max |difference| {fmt(t.max_abs_diff)})", S
        )
    return out


def _adjoint(e, st: AdjointStep, S: Style):
    out = []
    if e.channelled:
        out += para("For the one channel of the steps above, x[0] through w[0, 0]:", S)
    out += sbs([block("conv(y)", st.conv_of_output, S), block("x", st.input, S)], S)
    if st.equal:
        out.append("   conv(y) equals x here.")
    else:
        out += para(
            "conv(conv_transpose(x)) = C Cᵀ x, which is not x: conv_transpose is the adjoint of conv "
            "(<conv(y), x> = <y, conv_transpose(x)>), not its inverse.",
            S,
        )
    w2 = fmt(st.kernel_norm2)
    if st.CCt is None:
        out += para(
            "C is too big to write out here; (C Cᵀ)[i, i'] = Σ w[t]·w[t'] over the taps with "
            "i·s + t·d = i'·s + t'·d (the outputs where the stamps of inputs i and i' meet).",
            S,
        )
    else:
        what = (
            "the identity"
            if st.identity
            else f"{fmt(st.scale)}·I"
            if st.scale is not None
            else ("diagonal" if st.diagonal else "not diagonal")
        )
        if np.shape(st.CCt)[0] <= 16:
            out += sbs([block(f"C Cᵀ ({what})", st.CCt, S)], S)
        out += para(_cct_sentence(st, w2), S)
    ex = st.orthonormal_example
    taps = "×".join(map(str, np.shape(ex.kernel)))
    s = _compact(ex.stride)
    d = "" if set(ex.dilation) == {1} else f" and dilation {_compact(ex.dilation)}"
    padding = f"your padding {ex.padding} crops no stamp" if ex.kept_padding else f"your {ex.why}"
    if np.size(ex.kernel) == 1:  # stride 1 (or d a multiple of s): one tap is the only kernel that never overlaps
        how = "a single tap w' = 1 keeps neighbouring stamps apart (k' = s/gcd(s, d) = 1), and C = I"
    else:
        how = (
            f"the kernel w' = {fmt(np.ravel(ex.kernel)[0])} on {taps} taps (k' = s/gcd(s, d)) does it: neighbouring "
            "stamps never meet and each row of C has norm 1"
        )
    out += para(
        f"conv(conv_transpose(x)) = x for every x exactly when C Cᵀ = I: C has orthonormal rows. With your "
        f"stride {s}{d}, {how}; {padding}:",
        S,
    )
    out += sbs([block("y' = conv_transpose(x, w')", ex.conv_transpose, S), block("conv(y', w')", ex.conv_back, S)], S)
    if not ex.equal:  # cannot happen by construction; say so rather than hide it
        out.append("   " + S.bad("conv(y', w') is not x: please report this"))
    return out


def _compact(v) -> str:
    return str(v[0]) if len(set(v)) == 1 else idx(v)


def _cct_sentence(st: AdjointStep, w2: str) -> str:
    """What C Cᵀ is, exactly: I, c·I, diagonal, or with overlaps off the diagonal."""
    diagonal_is = (
        f"its diagonal holds Σ w² over the taps of each input's stamp that survive the crop (|w|² = {w2} "
        "where none is cropped)"
    )
    if st.identity:
        return "C Cᵀ = I: the rows of C are orthonormal, so conv undoes conv_transpose for every x."
    if st.scale is not None:
        c = fmt(st.scale)
        norm = " = |w|²" if c == w2 else ""
        return (
            f"C Cᵀ = {c}·I (c{norm}): the stamps never meet and none is cropped, so conv(y) = {c}·x for every x; "
            f"conv_transpose inverts conv only after dividing by {c}."
        )
    if st.diagonal:
        return (
            f"C Cᵀ is diagonal — no two stamps meet on taps of non-zero weight — but not a multiple of I: "
            f"{diagonal_is}, so conv(y) is x scaled position by position."
        )
    return (
        f"{diagonal_is}; off the diagonal, (C Cᵀ)[i, i'] = Σ w[t]·w[t'] over the taps where the stamps of "
        "inputs i and i' land on the same output (i·s + t·d = i'·s + t'·d)."
    )


_RENDER = {
    "shape": ("Output size", _shape),
    "channels": ("Channels: each output channel sums its group's input channels", _channels),
    "scatter": ("Scatter: each input element stamps value × kernel at position × stride", tm.scatter),
    "zero_insert": ("Zero insertion: insert zeros, pad, convolve with the flipped kernel", tm.zero_insert),
    "matrix": ("Matrix: conv is a matrix C, conv_transpose is Cᵀ", tm.matrix),
    "gemm": ("GEMM + col2im: all stamps as one matrix product", tm.gemm),
    "polyphase": ("Polyphase: s^d phases, each with its own sub-kernel", tm.polyphase),
    "result": ("Result", _result),
    "adjoint": ("Adjoint, not inverse: conv(y) next to x", _adjoint),
}


def _args(e) -> str:
    def show(v):
        if isinstance(v, tuple):
            return ",".join(":".join(map(str, p)) if isinstance(p, tuple) else str(p) for p in v)
        return str(v)

    return ", ".join(f"{k} {show(v)}" for k, v in e.arguments.items())


def render(explanation, colour: bool = False, sections=None, width: int | None = None) -> str:
    """The whole explanation as text.

    ``sections`` limits it to some step kinds (all by default); ``width`` is the line width
    (default: the terminal's, from ``COLUMNS`` or the terminal, else 80).
    """
    S = Style(colour, width or terminal_width())
    e = explanation
    title = f"tconv explain{' ' + e.name if e.name else ''}"
    out = [
        S.head(f"{title}: conv_transpose of x ({shape_text(e.input)}) with w ({shape_text(e.kernel)})"),
        "  " + _args(e),
    ]
    if e.batched:
        out += para(f"a batch of one: below, x is its image ({shape_text(e.layer_input)}) and y its output", S, "  ")
    if e.note:
        out += para(f"({e.note})", S, indent="  ")
    out.append("")
    if e.channelled:
        x = e.layer_input
        c_in = [block(f"x[{c}]", x[c], S) for c in range(min(len(x), 4))]
        out += side_by_side(c_in, indent=0, width=S.width)
        out += side_by_side([block("w[0, 0]", e.w, S)], indent=0, width=S.width)
    else:
        out += side_by_side([block("x", e.input, S), block("w", e.kernel, S)], indent=0, width=S.width)
    n = 0
    for st in e.steps:
        if sections is not None and st.kind not in sections:
            continue
        n += 1
        heading, fn = _RENDER[st.kind]
        out.append("")
        out.append(S.head(f"{n}. {heading}"))
        out += fn(e, st, S)
    return "\n".join(out)
