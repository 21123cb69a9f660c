"""The terminal text of the five method steps: scatter, zero insertion, the matrix, GEMM, polyphase.

Each function takes the :class:`~tconv.explainer.explanation.Explanation`, its typed step and a
:class:`~tconv.explainer.layout.Style` (colour and width), and returns lines; nothing is computed
here but layout. Long lists of stamps and windows show the first few and say how many more there are.
"""

from __future__ import annotations

import numpy as np

from tconv.explainer.layout import Style, fmt, grid, side_by_side, vlen, wrap
from tconv.explainer.records import GemmStep, MatrixStep, PolyphaseStep, ScatterStep, ZeroInsertStep

__all__ = ["scatter", "zero_insert", "matrix", "gemm", "polyphase", "block", "sbs", "para", "shape_text", "idx"]

SHOW = 3  # stamps / windows shown before "… N more"


def block(caption: str, a, S: Style, indent: int = 6, **kw):
    """A caption over an indented grid that fits in the style's width."""
    return [caption] + ["   " + line for line in grid(a, style=S, room=S.width - indent, **kw)]


def sbs(blocks, S: Style, indent: int = 3):
    """Blocks side by side within the style's width (stacked when they do not fit)."""
    return side_by_side(blocks, width=S.width, indent=indent)


def para(text: str, S: Style, indent: str = "   "):
    """A paragraph wrapped to the style's width."""
    return wrap(text, indent=indent, width=S.width)


def shape_text(a) -> str:
    return "×".join(str(n) for n in np.shape(a))


def idx(index) -> str:
    return ",".join(str(i) for i in index)


def compact(v) -> str:
    """One number for equal axes, else one per axis: ``(1, 1)`` → ``1``, ``(1, 0)`` → ``1,0``."""
    return str(v[0]) if len(set(v)) == 1 else idx(v)


def pos(index) -> str:
    return idx(index) if len(index) == 1 else f"({idx(index)})"


def _region(at, g):
    return tuple(slice(a, a + ke, d) for a, ke, d in zip(at, g.effective_kernel, g.dilation))


def _show(items, more, shape) -> int:
    """How many stamps or windows to draw: all of a few, else the first SHOW (2 for big arrays)."""
    if not more and len(items) <= SHOW + 1:
        return len(items)
    return SHOW if max(shape) <= 12 else 2


def _spans(begin, end, shape, t) -> str:
    spans = [f"[{b}, {f - e})" for b, e, f in zip(begin, end, shape)]
    if len(set(spans)) == 1:
        return spans[0] + (t("text.on_every_axis") if len(shape) > 1 else "")
    return " × ".join(spans)


def scatter(e, st: ScatterStep, S: Style):
    g, out, t = e.g, [], S.t
    shape = np.shape(st.full)
    show = _show(st.stamps, st.more, shape)
    by = str(g.stride[0]) if len(set(g.stride)) == 1 else f"({idx(g.stride)})"
    apart = g.dilation
    spread = "" if set(apart) == {1} else t("text.scatter.spread", d=apart[0] if len(set(apart)) == 1 else pos(apart))
    for s in st.stamps[:show]:
        touched = np.zeros(shape, dtype=bool)
        touched[_region(s.at, g)] = True
        v = fmt(s.value)
        out.append(
            "   " + t("text.scatter.stamp", i=idx(s.index), v=v, pos=pos(s.index), by=by, at=pos(s.at), spread=spread)
        )
        out += sbs(
            [
                block(t("text.scatter.stamp_caption"), s.stamp, S),
                block(t("text.scatter.running_sum", shape=shape_text(st.full)), s.sum, S, mark=touched),
            ],
            S,
        )
    hidden = e.x.size - show
    if hidden:
        out.append("   " + t("text.scatter.more", n=hidden, total=e.x.size))
    kept = np.zeros(shape, dtype=bool)
    kept[tuple(slice(b, min(f - c, f)) for b, c, f in zip(st.begin, st.end, shape))] = True
    cropped = any(st.begin) or any(c > 0 for c in st.end)
    appended = [max(-c, 0) + op for c, op in zip(st.end, st.output_padding)]
    zeros = t("text.scatter.appended", z=compact(appended)) if any(appended) else ""
    if cropped:
        out += para(
            t(
                "text.scatter.cropped",
                b=compact(st.begin),
                e=compact(st.end),
                spans=_spans(st.begin, st.end, shape, t),
                appended=zeros,
            ),
            S,
        )
        out += sbs([block("F", st.full, S, mark=kept), block(t("text.caption.output"), st.output, S)], S)
    elif any(appended):
        out += para(t("text.scatter.no_crop_appended", z=compact(appended)), S)
        out += sbs([block(t("text.caption.output"), st.output, S)], S)
    else:
        out.append("   " + t("text.scatter.no_crop"))
    return out


def zero_insert(e, st: ZeroInsertStep, S: Style):
    g, out, t = e.g, [], S.t
    texts = np.where(st.origin == 0, ".", np.vectorize(fmt, otypes=[object])(st.padded))
    pairs = list(zip(st.pad_before, st.pad_after))
    pads = (
        t("text.zero.pads", b=pairs[0][0], a=pairs[0][1], every=t("text.zero.every") if len(pairs) > 1 else "")
        if len(set(pairs)) == 1
        else t("text.list_sep").join(t("text.zero.pads_axis", axis=n, b=b, a=f) for n, (b, f) in enumerate(pairs))
    )
    out += para(t("text.zero.intro", pads=pads), S)
    out += sbs(
        [
            block(t("text.zero.inserted_caption", shape=shape_text(st.stretched)), st.stretched, S),
            block(t("text.zero.padded_caption", shape=shape_text(st.padded)), st.padded, S, texts=texts),
        ],
        S,
    )
    out.append("   " + S.flip(t("text.zero.flipped")) + ": flip(w) = w[" + ", ".join(["::-1"] * g.ndim) + "]")
    flipped_mark = np.ones(np.shape(st.flipped), bool)
    out += sbs([block("w", e.w, S), block("flip(w)", st.flipped, S, mark=flipped_mark, mark_style=S.flip)], S)
    shown = st.windows[: _show(st.windows, st.more, np.shape(st.padded))]
    big = max(np.shape(st.padded)) > 12
    for n, wdw in enumerate(shown):
        mark = np.zeros(np.shape(st.padded), dtype=bool)
        mark[_region(wdw.out, g)] = True
        terms = " + ".join(f"{fmt(p)}·{fmt(f)}" for p, f in zip(np.ravel(wdw.patch), np.ravel(st.flipped)))
        line = f"   y[{idx(wdw.out)}] = {terms} = {fmt(wdw.sum)}"
        out += wrap(line, indent="      ", first="", width=S.width) if vlen(line) > S.width else [line]
        if n == 0 or not big:  # a big P is drawn once
            out += sbs([block(t("text.zero.window_caption"), st.padded, S, texts=texts, mark=mark)], S)
    hidden = np.size(st.output) - len(shown)
    if hidden:
        out.append("   " + t("text.zero.more", n=hidden, total=np.size(st.output)))
    blocks = [block("y", st.output, S)]
    if not st.symmetric:
        blocks.append(block(t("text.zero.unflipped_caption"), st.unflipped_output, S))
    out += sbs(blocks, S)
    out += para(t("text.zero.symmetric" if st.symmetric else "text.zero.forgot"), S)
    out.append("   " + t("text.zero.wasted", z=st.zero_multiplications, m=st.multiplications))
    return out


def matrix(e, st: MatrixStep, S: Style):
    t = S.t
    if st.C is None:
        return para(t("text.matrix.too_big", rows=st.rows, cols=st.columns), S)
    out = para(t("text.matrix.intro", rows=st.rows, cols=st.columns), S)
    out += sbs([block(f"C ({st.rows}×{st.columns})", st.C, S)], S)
    out += sbs([block(t("text.matrix.x_caption"), st.x, S)], S)
    out += sbs([block(t("text.matrix.ctx_caption", shape="×".join(map(str, e.g.large))), st.Ct_x, S)], S)
    return out


def gemm(e, st: GemmStep, S: Style):
    t = S.t
    out = para(t("text.gemm.intro"), S)
    if st.columns is not None:
        names = ", ".join("(" + idx(tap) + ")" for tap in st.taps[:6]) + (" …" if len(st.taps) > 6 else "")
        out += sbs([block(t("text.gemm.cols_caption", r=st.shape[0], c=st.shape[1], names=names), st.columns, S)], S)
    else:
        out += para(t("text.gemm.too_big", r=st.shape[0], c=st.shape[1]), S)
    return out


def polyphase(e, st: PolyphaseStep, S: Style):
    g, out, t = e.g, [], S.t
    if len(st.phases) == 1:
        return ["   " + t("text.poly.single")]
    for p in st.phases[:8]:
        where = ", ".join(f"{a}::{s}" for a, s in zip(p.first, g.stride))
        taps = " × ".join("{" + ",".join(map(str, tp)) + "}" for tp in p.taps)
        if not p.count:
            out.append("   " + t("text.poly.empty", p=idx(p.phase), where=where))
            continue
        out.append("   " + t("text.poly.phase", p=idx(p.phase), where=where, taps=taps, n=p.count))
        sub, its = t("text.poly.sub_kernel"), t("text.poly.outputs")
        out += sbs([block(sub, p.sub_kernel, S, 9), block(its, p.values, S, 9)], S, indent=6)
    if len(st.phases) > 8:
        out.append("   " + t("text.poly.more", n=len(st.phases) - 8))
    counts = ", ".join(map(str, st.counts))
    holes = t("text.poly.holes") if 0 in st.counts else ""
    out += para(t("text.poly.even") if st.even else t("text.poly.uneven", counts=counts, holes=holes), S)
    return out
