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


def _spans(begin, end, shape) -> str:
    spans = [f"[{b}, {f - e})" for b, e, f in zip(begin, end, shape)]
    return spans[0] + (" on every axis" if len(shape) > 1 else "") if len(set(spans)) == 1 else " × ".join(spans)


def scatter(e, st: ScatterStep, S: Style):
    g, out = e.g, []
    shape = np.shape(st.full)
    show = _show(st.stamps, st.more, shape)
    by = str(g.stride[0]) if len(set(g.stride)) == 1 else f"({idx(g.stride)})"
    apart = g.dilation
    spread = "" if set(apart) == {1} else f", taps {apart[0] if len(set(apart)) == 1 else pos(apart)} apart"
    for s in st.stamps[:show]:
        touched = np.zeros(shape, dtype=bool)
        touched[_region(s.at, g)] = True
        v = fmt(s.value)
        out.append(f"   x[{idx(s.index)}] = {v} → {v}·w placed at {pos(s.index)}×{by} = {pos(s.at)}{spread}")
        out += sbs(
            [block("stamp", s.stamp, S), block(f"running sum ({shape_text(st.full)})", s.sum, S, mark=touched)], S
        )
    hidden = e.x.size - show
    if hidden:
        out.append(f"   … {hidden} more stamps ({e.x.size} in all)")
    kept = np.zeros(shape, dtype=bool)
    kept[tuple(slice(b, min(f - c, f)) for b, c, f in zip(st.begin, st.end, shape))] = True
    cropped = any(st.begin) or any(c > 0 for c in st.end)
    appended = [max(-c, 0) + op for c, op in zip(st.end, st.output_padding)]
    if cropped:
        out += para(
            f"the full output F, cropped: b = {compact(st.begin)} at the start and e = {compact(st.end)} at the end; "
            f"the output is the window {_spans(st.begin, st.end, shape)} of F, marked [ ]"
            + (
                f", then {compact(appended)} zeros appended at the end (output_padding or e < 0)"
                if any(appended)
                else ""
            )
            + ":",
            S,
        )
        out += sbs([block("F", st.full, S, mark=kept), block("output", st.output, S)], S)
    elif any(appended):
        out += para(f"no crop (b = e = 0); {compact(appended)} zeros appended at the end (output_padding or e < 0):", S)
        out += sbs([block("output", st.output, S)], S)
    else:
        out.append("   no crop (b = e = 0): the sum is the output")
    return out


def zero_insert(e, st: ZeroInsertStep, S: Style):
    g, out = e.g, []
    texts = np.where(st.origin == 0, ".", np.vectorize(fmt, otypes=[object])(st.padded))
    pairs = list(zip(st.pad_before, st.pad_after))
    pads = (
        f"{pairs[0][0]} before, {pairs[0][1]} after" + (" on every axis" if len(pairs) > 1 else "")
        if len(set(pairs)) == 1
        else "; ".join(f"axis {a}: {b} before, {f} after" for a, (b, f) in enumerate(pairs))
    )
    out += para(
        "insert s-1 zeros between neighbours, then pad: k_eff-1-b zeros before and k_eff-1-e+op after, "
        f"with b and e the crops of the output-size step ({pads}; a negative pad crops). '.' is padding:",
        S,
    )
    out += sbs(
        [
            block(f"zero-inserted ({shape_text(st.stretched)})", st.stretched, S),
            block(f"padded P ({shape_text(st.padded)})", st.padded, S, texts=texts),
        ],
        S,
    )
    out.append(
        "   " + S.flip("the kernel is flipped on every axis") + ": flip(w) = w[" + ", ".join(["::-1"] * g.ndim) + "]"
    )
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
            out += sbs([block("window in P", st.padded, S, texts=texts, mark=mark)], S)
    hidden = np.size(st.output) - len(shown)
    if hidden:
        out.append(f"   … {hidden} more windows ({np.size(st.output)} in all)")
    blocks = [block("y", st.output, S)]
    if not st.symmetric:
        blocks.append(block("unflipped (wrong)", st.unflipped_output, S))
    out += sbs(blocks, S)
    out += para(
        "w is symmetric under the flip, so the flip cannot be seen here; a non-symmetric kernel "
        "(tconv explain --example stride2) shows it."
        if st.symmetric
        else "'unflipped (wrong)': the same windows with w instead of flip(w). Forgetting the flip "
        "gives a different, wrong answer.",
        S,
    )
    out.append(
        f"   {st.zero_multiplications} of {st.multiplications} multiplications read an inserted or padding zero."
    )
    return out


def matrix(e, st: MatrixStep, S: Style):
    if st.C is None:
        return para(
            f"C would be {st.rows}×{st.columns}: too big to write out here (the matrix method "
            "stores it sparsely: one index per tap and output position).",
            S,
        )
    out = para(
        f"C has a row per input position ({st.rows}) and a column per output position ({st.columns}); "
        "row i holds w where input i's stamp lands. conv(y) = C y and conv_transpose(x) = Cᵀx.",
        S,
    )
    out += sbs([block(f"C ({st.rows}×{st.columns})", st.C, S)], S)
    out += sbs([block("x (flattened)", st.x, S)], S)
    out += sbs([block(f"Cᵀx: the output, flattened ({'×'.join(map(str, e.g.large))})", st.Ct_x, S)], S)
    return out


def gemm(e, st: GemmStep, S: Style):
    out = para(
        "cols[t, i] = w[t]·x[i] for every tap t and input position i: one matrix product; then col2im "
        "adds row t at positions i·s + t·d - b. Each column is one stamp.",
        S,
    )
    if st.columns is not None:
        names = ", ".join("(" + idx(t) + ")" for t in st.taps[:6]) + (" …" if len(st.taps) > 6 else "")
        out += sbs([block(f"cols ({st.shape[0]}×{st.shape[1]}), rows t = {names}", st.columns, S)], S)
    else:
        out += para(f"cols would be {st.shape[0]}×{st.shape[1]}: too big to write out here.", S)
    return out


def polyphase(e, st: PolyphaseStep, S: Style):
    g, out = e.g, []
    if len(st.phases) == 1:
        return ["   stride 1: a single phase, the whole kernel (nothing to split)."]
    for p in st.phases[:8]:
        where = ", ".join(f"{a}::{s}" for a, s in zip(p.first, g.stride))
        taps = " × ".join("{" + ",".join(map(str, t)) + "}" for t in p.taps)
        if not p.count:
            out.append(f"   phase {idx(p.phase)}: y[{where}] gets no tap at all: it stays 0")
            continue
        out.append(f"   phase {idx(p.phase)}: y[{where}] uses taps {taps} ({p.count} tap{'s' if p.count > 1 else ''})")
        out += sbs([block("sub-kernel", p.sub_kernel, S, 9), block("its outputs", p.values, S, 9)], S, indent=6)
    if len(st.phases) > 8:
        out.append(f"   … {len(st.phases) - 8} more phases")
    counts = ", ".join(map(str, st.counts))
    out += para(
        "every phase has the same number of taps: even overlap"
        if st.even
        else f"taps per phase differ ({counts}): uneven overlap, the source of checkerboard artifacts "
        "(tconv artifacts)" + ("; a phase with no tap is always 0" if 0 in st.counts else ""),
        S,
    )
    return out
