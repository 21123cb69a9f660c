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
    axes, t = st.axes, S.t
    same = all(ax == axes[0] for ax in axes)
    out = ["   " + axes[0].formula]
    for a, ax in enumerate(axes[:1] if same else axes):
        label = (t("text.every_axis") if len(axes) > 1 else "") if same else t("text.axis_n", a=a)
        out.append("     = " + ax.numbers + ("   " + label if label else ""))
    for note in st.notes:
        out += para(note, S)
    return out


def _channels(e, st: ChannelsStep, S: Style):
    t = S.t
    per_in, per_out = st.in_channels // st.groups, st.out_channels // st.groups
    groups = (
        t(
            "text.channels.groups",
            per_in=t("text.n_input_channels", n=per_in),
            per_out=t("text.n_output_channels", n=per_out),
        )
        if st.groups > 1
        else ""
    )
    out = para(
        t(
            "text.channels.intro",
            inputs=t("text.n_input_channels", n=st.in_channels),
            outputs=t("text.n_output_channels", n=st.out_channels),
            groups=st.groups,
            shape=", ".join(map(str, st.weight_shape)),
            groups_sentence=groups,
        ),
        S,
    )
    for oc in st.outputs:
        terms = " + ".join(f"x[{c.in_channel}]*w[{idx(c.kernel_index)}]" for c in oc.contributions)
        more = len(oc.in_channels) - len(oc.contributions)
        span = oc.in_channels
        out.append(
            "   "
            + t(
                "text.channels.line",
                c=oc.channel,
                group=oc.group,
                span=t("text.channels.span_one", c=span[0])
                if len(span) == 1
                else t("text.channels.span_many", first=span[0], last=span[-1]),
                terms=terms,
                more=t("text.channels.more_terms", n=more) if more else "",
            )
        )
        blocks = [block(f"x[{c.in_channel}]*w[{idx(c.kernel_index)}]", c.partial, S) for c in oc.contributions]
        out += sbs([*blocks, block(f"= y[{oc.channel}]", oc.output, S)], S, indent=6)
    if st.more_outputs:
        out.append("   " + t("text.channels.more_outputs", n=st.more_outputs, total=st.out_channels))
    out += para(t("text.channels.one"), S)
    return out


def _result(e, st: ResultStep, S: Style):
    y, t = st.output, S.t
    if y.ndim > 2:  # a 2-D layer's (C_out, H, W): one grid per output channel, the first four
        first = t("text.result.first4") if len(y) > 4 else ""
        out = para(t("text.result.layer", shape=shape_text(y), first=first), S)
        out += sbs([block(f"y[{c}]", y[c], S) for c in range(min(len(y), 4))], S)
    else:
        out = sbs([block(f"y ({shape_text(y)})", y, S)], S)
    names = ", ".join(st.methods)
    if st.agree:
        out += para(t("text.result.agree", agree=S.good(t("text.result.all_agree")), names=names), S)
    else:
        bad = [m for m, ok in {**st.methods, **st.steps_agree}.items() if not ok]
        out.append("   " + S.bad(t("text.result.disagree", names=", ".join(bad))))
    tc = st.torch
    if not tc.available:
        call = f"torch.nn.functional.{tc.call} — " if tc.call else ""
        out += para(t("text.result.torch_skipped", call=call, reason=tc.reason), S)
    else:
        verdict = S.good(t("text.result.torch_same")) if tc.equal else S.bad(t("text.result.torch_differs"))
        out += para(
            t(
                "text.result.torch_ran",
                version=tc.version,
                call=f"torch.nn.functional.{tc.call}",
                verdict=verdict,
                diff=fmt(tc.max_abs_diff),
            ),
            S,
        )
    return out


def _adjoint(e, st: AdjointStep, S: Style):
    out, t = [], S.t
    if e.channelled:
        out += para(t("text.adjoint.one_channel"), S)
    out += sbs([block("conv(y)", st.conv_of_output, S), block("x", st.input, S)], S)
    if st.equal:
        out.append("   " + t("text.adjoint.equal"))
    else:
        out += para(t("text.adjoint.not_inverse"), S)
    w2 = fmt(st.kernel_norm2)
    if st.CCt is None:
        out += para(t("text.adjoint.too_big"), S)
    else:
        what = (
            t("text.adjoint.what_identity")
            if st.identity
            else f"{fmt(st.scale)}·I"
            if st.scale is not None
            else t("text.adjoint.what_diagonal" if st.diagonal else "text.adjoint.what_not_diagonal")
        )
        if np.shape(st.CCt)[0] <= 16:
            out += sbs([block(f"C Cᵀ ({what})", st.CCt, S)], S)
        out += para(_cct_sentence(st, w2, t), S)
    ex = st.orthonormal_example
    taps = "×".join(map(str, np.shape(ex.kernel)))
    d = "" if set(ex.dilation) == {1} else t("text.adjoint.and_dilation", d=_compact(ex.dilation))
    padding = (
        t("text.adjoint.padding_kept", p=ex.padding)
        if ex.kept_padding
        else t("text.adjoint.padding_dropped", why=ex.why)
    )
    if np.size(ex.kernel) == 1:  # stride 1 (or d a multiple of s): one tap is the only kernel that never overlaps
        how = t("text.adjoint.how_one")
    else:
        how = t("text.adjoint.how_many", v=fmt(np.ravel(ex.kernel)[0]), taps=taps)
    out += para(t("text.adjoint.demo", s=_compact(ex.stride), d=d, how=how, padding=padding), S)
    out += sbs([block("y' = conv_transpose(x, w')", ex.conv_transpose, S), block("conv(y', w')", ex.conv_back, S)], S)
    if not ex.equal:  # cannot happen by construction; say so rather than hide it
        out.append("   " + S.bad(t("text.adjoint.demo_failed")))
    return out


def _compact(v) -> str:
    return str(v[0]) if len(set(v)) == 1 else idx(v)


def _cct_sentence(st: AdjointStep, w2: str, t) -> str:
    """What C Cᵀ is, exactly: I, c·I, diagonal, or with overlaps off the diagonal."""
    diagonal_is = t("text.adjoint.diagonal_is", w2=w2)
    if st.identity:
        return t("text.adjoint.cct_identity")
    if st.scale is not None:
        c = fmt(st.scale)
        return t("text.adjoint.cct_scale", c=c, norm=" = |w|²" if c == w2 else "")
    if st.diagonal:
        return t("text.adjoint.cct_diagonal", diagonal_is=diagonal_is)
    return t("text.adjoint.cct_overlap", diagonal_is=diagonal_is)


_RENDER = {
    "shape": _shape,
    "channels": _channels,
    "scatter": tm.scatter,
    "zero_insert": tm.zero_insert,
    "matrix": tm.matrix,
    "gemm": tm.gemm,
    "polyphase": tm.polyphase,
    "result": _result,
    "adjoint": _adjoint,
}


def _note(e, t) -> str:
    """The example's note in the language asked for (a note given by the caller as it is)."""
    from tconv.examples import EXAMPLES

    ex = EXAMPLES.get(e.name)
    return t(f"example.{e.name}") if ex is not None and ex.note == e.note else e.note


def _args(e) -> str:
    def show(v):
        if isinstance(v, tuple):
            return ",".join(":".join(map(str, p)) if isinstance(p, tuple) else str(p) for p in v)
        return str(v)

    return ", ".join(f"{k} {show(v)}" for k, v in e.arguments.items())


def render(explanation, colour: bool = False, sections=None, width: int | None = None, lang: str | None = None) -> str:
    """The whole explanation as text.

    ``sections`` limits it to some step kinds (all by default); ``width`` is the line width
    (default: the terminal's, from ``COLUMNS`` or the terminal, else 80); ``lang`` the language
    (default: the explanation's, :attr:`Explanation.lang`).
    """
    e = explanation
    S = Style(colour, width or terminal_width(), lang or e.lang)
    t = S.t
    title = f"tconv explain{' ' + e.name if e.name else ''}"
    out = [
        S.head(t("text.header", title=title, x=shape_text(e.input), w=shape_text(e.kernel))),
        "  " + _args(e),
    ]
    if e.batched:
        out += para(t("text.batched", shape=shape_text(e.layer_input)), S, "  ")
    if e.note:
        out += para(f"({_note(e, t)})", S, indent="  ")
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
        out.append("")
        out.append(S.head(f"{n}. {t('heading.' + st.kind)}"))
        out += _RENDER[st.kind](e, st, S)
    return "\n".join(out)
