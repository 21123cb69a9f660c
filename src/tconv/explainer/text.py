"""The terminal renderer: an :class:`~tconv.explainer.steps.Explanation` as text, in colour when asked.

Everything shown is read from the explanation's steps; nothing is computed here but layout. Marked
cells are written ``[v]`` (and coloured when colour is on), so the text reads the same piped to a
file. Large arrays are elided the way NumPy does (``…``); long lists of stamps and windows show the
first few and say how many more there are.

>>> from tconv.explainer.steps import explain
>>> print(render(explain([1, 2], [1, 10, 100], stride=2, torch_check=False), sections=("result",)))
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
   PyTorch: skipped (--no-torch)
"""

from __future__ import annotations

import os
import re

import numpy as np

__all__ = ["Style", "render", "use_colour", "grid", "side_by_side", "fmt"]

WIDTH = 80
SHOW = 3  # stamps / windows shown before "… N more"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def use_colour(stream) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


class Style:
    """ANSI styles, or nothing at all when ``colour`` is false."""

    def __init__(self, colour: bool = False):
        self.colour = colour

    def _wrap(self, code: str, s: str) -> str:
        return f"\x1b[{code}m{s}\x1b[0m" if self.colour else s

    def head(self, s):
        return self._wrap("1", s)

    def mark(self, s):
        return self._wrap("1;36", s)

    def flip(self, s):
        return self._wrap("1;33", s)

    def dim(self, s):
        return self._wrap("2", s)

    def good(self, s):
        return self._wrap("32", s)

    def bad(self, s):
        return self._wrap("1;31", s)


def vlen(s: str) -> int:
    """Visible length (ANSI codes do not count)."""
    return len(_ANSI.sub("", s))


def fmt(v) -> str:
    """A number, short: ints as they are, floats with 4 significant digits.

    >>> fmt(3), fmt(2.0), fmt(0.70710678), fmt(-0.0)
    ('3', '2', '0.7071', '0')
    """
    if isinstance(v, (bool, np.bool_)):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    s = f"{float(v):.4g}"
    return "0" if s == "-0" else s


def _elide(n: int, most: int):
    """Indices to show out of ``n`` (``None`` marks the gap)."""
    if n <= most:
        return list(range(n))
    head = (most + 1) // 2
    return list(range(head)) + [None] + list(range(n - (most - head - 1), n))


def grid(a, mark=None, texts=None, style: Style | None = None, max_rows: int = 12, max_cols: int = 12, mark_style=None):
    """A 1-D or 2-D array as aligned lines; ``mark`` (same shape, bool) cells as ``[v]``.

    >>> print("\\n".join(grid(np.array([[2, 0], [0, 12]]), mark=np.eye(2, dtype=bool))))
    [ 2]  0
      0 [12]
    """
    style = style or Style()
    paint = mark_style or style.mark
    a = np.asarray(a)
    two = a.reshape(1, -1) if a.ndim == 1 else a
    m = None if mark is None else np.asarray(mark).reshape(two.shape)
    t = np.vectorize(fmt, otypes=[object])(two) if texts is None else np.asarray(texts, dtype=object).reshape(two.shape)
    longest = max((len(v) for v in t.ravel()), default=1)
    max_cols = max(4, min(max_cols, (WIDTH - 12) // (longest + 2)))  # never wider than the terminal
    rows, cols = _elide(two.shape[0], max_rows), _elide(two.shape[1], max_cols)
    width = max((len(t[r, c]) for r in rows if r is not None for c in cols if c is not None), default=1)
    lines = []
    for r in rows:
        cells = []
        for c in cols:
            if r is None:
                cells.append(" " + "⋮".rjust(width) + " " if c is not None else "   ")
            elif c is None:
                cells.append(" … ")
            elif m is not None and m[r, c]:
                cells.append(paint("[" + t[r, c].rjust(width) + "]"))
            else:
                cells.append(" " + t[r, c].rjust(width) + " ")
        lines.append("".join(cells).rstrip())
    return lines


def side_by_side(blocks, gap: int = 3, width: int = WIDTH, indent: int = 3):
    """Blocks (lists of lines, the first a caption) next to each other, or stacked if too wide."""
    widths = [max(vlen(line) for line in b) for b in blocks]
    if indent + sum(widths) + gap * (len(blocks) - 1) > width and len(blocks) > 1:
        out = []
        for b in blocks:
            out += side_by_side([b], gap, width, indent)
        return out
    height = max(len(b) for b in blocks)
    out = []
    for r in range(height):
        parts = []
        for b, w in zip(blocks, widths):
            line = b[r] if r < len(b) else ""
            parts.append(line + " " * (w - vlen(line)))
        out.append((" " * indent + (" " * gap).join(parts)).rstrip())
    return out


def _block(caption: str, a, **kw):
    return [caption] + ["   " + line for line in grid(a, **kw)]


def _shape_text(a) -> str:
    return "×".join(str(n) for n in np.shape(a))


def _idx(index) -> str:
    return ",".join(str(i) for i in index)


def _pos(index) -> str:
    return _idx(index) if len(index) == 1 else f"({_idx(index)})"


# ---- one function per step --------------------------------------------------------------------


def _shape(e, st, S):
    axes = st.data["axes"]
    out = []
    same = all({k: v for k, v in ax.items()} == {k: v for k, v in axes[0].items()} for ax in axes)
    out.append("   " + axes[0]["formula"])
    for a, ax in enumerate(axes[:1] if same else axes):
        label = ("(every axis)" if len(axes) > 1 else "") if same else f"(axis {a})"
        out.append("     = " + ax["numbers"] + ("   " + label if label else ""))
    for note in st.data["notes"]:
        out += _wrap(note, indent="   ")
    return out


def _scatter(e, st, S):
    d, out = st.data, []
    shape = np.shape(d["full"])
    show = _show(d["stamps"], d["more"], shape)
    for s in d["stamps"][:show]:
        touched = np.zeros(shape, dtype=bool)
        touched[
            tuple(slice(a, a + ke, dd) for a, ke, dd in zip(s["at"], e.geometry.effective_kernel, e.geometry.dilation))
        ] = True
        v = fmt(s["value"])
        stride = e.geometry.stride
        by = str(stride[0]) if len(set(stride)) == 1 else f"({_idx(stride)})"
        apart = e.geometry.dilation
        spread = "" if set(apart) == {1} else f", taps {apart[0] if len(set(apart)) == 1 else _pos(apart)} apart"
        out.append(
            f"   x[{_idx(s['index'])}] = {v} → {v}·w placed at {_pos(s['index'])}×{by} = {_pos(s['at'])}{spread}"
        )
        out += side_by_side(
            [
                _block("stamp", s["stamp"], style=S),
                _block(f"running sum ({_shape_text(d['full'])})", s["sum"], mark=touched, style=S),
            ],
            indent=3,
        )
    hidden = e.input.size - show
    if hidden:
        out.append(f"   … {hidden} more stamps ({e.input.size} in all)")
    kept = np.zeros(shape, dtype=bool)
    kept[tuple(slice(b, min(f - ee, f)) for b, ee, f in zip(d["begin"], d["end"], shape))] = True
    spans = [f"[{b}, {f - ee})" for b, ee, f in zip(d["begin"], d["end"], shape)]
    spans = spans[0] + (" on every axis" if len(shape) > 1 else "") if len(set(spans)) == 1 else " × ".join(spans)
    if any(d["begin"]) or any(d["end"]):
        appended = any(ee < 0 for ee in d["end"])
        out += _wrap(
            f"the full output F, cropped: the output is the window [b, b+o) = {spans} of F"
            + (" (past the end of F: zeros appended)" if appended else "")
            + ", marked [ ]:"
        )
        out += side_by_side([_block("F", d["full"], mark=kept, style=S), _block("cropped", d["output"], style=S)])
    else:
        out.append("   no crop (padding 0): the sum is the output")
    return out


def _show(items, more, shape) -> int:
    """How many stamps or windows to draw: all of a few, else the first SHOW (2 for big arrays)."""
    if not more and len(items) <= SHOW + 1:
        return len(items)
    return SHOW if max(shape) <= 12 else 2


def _zero_insert(e, st, S):
    d, g, out = st.data, e.geometry, []
    origin = np.asarray(d["origin"])
    texts = np.where(origin == 0, ".", np.vectorize(fmt, otypes=[object])(d["padded"]))
    pairs = list(zip(d["pad_before"], d["pad_after"]))
    pads = (
        f"{pairs[0][0]} before, {pairs[0][1]} after" + (" on every axis" if len(pairs) > 1 else "")
        if len(set(pairs)) == 1
        else "; ".join(f"axis {a}: {b} before, {f} after" for a, (b, f) in enumerate(pairs))
    )
    out += _wrap(
        f"insert s-1 zeros between neighbours, then pad: k_eff-1-b zeros before and k_eff-1-e+op "
        f"after ({pads}; a negative pad crops). '.' is padding:"
    )
    out += side_by_side(
        [
            _block(f"zero-inserted ({_shape_text(d['stretched'])})", d["stretched"], style=S),
            _block(f"padded P ({_shape_text(d['padded'])})", d["padded"], texts=texts, style=S),
        ]
    )
    flip_note = (
        "w is symmetric under the flip, so the flip cannot be seen here; a non-symmetric kernel "
        "(tconv explain --example stride2) shows it."
        if d["symmetric"]
        else "'unflipped (wrong)': the same windows with w instead of flip(w). Forgetting the flip "
        "gives a different, wrong answer."
    )
    out.append(
        "   " + S.flip("the kernel is flipped on every axis") + ": flip(w) = w[" + ", ".join(["::-1"] * g.ndim) + "]"
    )
    blocks = [
        _block("w", e.kernel, style=S),
        _block("flip(w)", d["flipped"], style=S, mark=np.ones(np.shape(d["flipped"]), bool), mark_style=S.flip),
    ]
    out += side_by_side(blocks)
    shown = d["windows"][: _show(d["windows"], d["more"], np.shape(d["padded"]))]
    big = max(np.shape(d["padded"])) > 12
    for n, wdw in enumerate(shown):
        mark = np.zeros(np.shape(d["padded"]), dtype=bool)
        mark[tuple(slice(o, o + ke, dd) for o, ke, dd in zip(wdw["out"], g.effective_kernel, g.dilation))] = True
        terms = " + ".join(f"{fmt(p)}·{fmt(f)}" for p, f in zip(np.ravel(wdw["patch"]), np.ravel(d["flipped"])))
        line = f"   y[{_idx(wdw['out'])}] = {terms} = {fmt(wdw['sum'])}"
        out += _wrap(line, indent="      ", first="") if vlen(line) > WIDTH else [line]
        if n == 0 or not big:  # a big P is drawn once
            out += side_by_side([_block("window in P", d["padded"], texts=texts, mark=mark, style=S)], indent=3)
    hidden = np.size(d["output"]) - len(shown)
    if hidden:
        out.append(f"   … {hidden} more windows ({np.size(d['output'])} in all)")
    blocks = [_block("y", d["output"], style=S)]
    if not d["symmetric"]:
        blocks.append(_block("unflipped (wrong)", d["unflipped_output"], style=S))
    out += side_by_side(blocks)
    out += _wrap(flip_note, indent="   ")
    out.append(
        f"   {d['zero_multiplications']} of {d['multiplications']} multiplications read an inserted or padding zero."
    )
    return out


def _matrix(e, st, S):
    d = st.data
    if d["C"] is None:
        return _wrap(
            f"C would be {d['rows']}×{d['columns']}: too big to write out here (the matrix method "
            "stores it sparsely: one index per tap and output position)."
        )
    out = _wrap(
        f"C has a row per input position ({d['rows']}) and a column per output position ({d['columns']}); "
        "row i holds w where input i's stamp lands. conv(y) = C y and conv_transpose(x) = Cᵀx."
    )
    out += side_by_side([_block(f"C ({d['rows']}×{d['columns']})", d["C"], style=S, max_cols=16)])
    out += side_by_side([_block("x (flattened)", d["x"], style=S, max_cols=16)])
    out += side_by_side(
        [_block(f"Cᵀx: the output, flattened ({_shape_text(e.output)})", d["Ct_x"], style=S, max_cols=16)]
    )
    return out


def _gemm(e, st, S):
    d = st.data
    out = _wrap(
        "cols[t, i] = w[t]·x[i] for every tap t and input position i: one matrix product; then col2im "
        "adds row t at positions i·s + t·d - b. Each column is one stamp."
    )
    if d["columns"] is not None:
        out += side_by_side(
            [
                _block(
                    f"cols ({d['shape'][0]}×{d['shape'][1]}), rows t = {', '.join('(' + _idx(t) + ')' for t in d['taps'][:6])}{' …' if len(d['taps']) > 6 else ''}",
                    d["columns"],
                    style=S,
                )
            ]
        )
    return out


def _polyphase(e, st, S):
    d, g, out = st.data, e.geometry, []
    if len(d["phases"]) == 1:
        return ["   stride 1: a single phase, the whole kernel (nothing to split)."]
    for p in d["phases"][:8]:
        where = ", ".join(f"{a}::{s}" for a, s in zip(p["first"], g.stride))
        taps = " × ".join("{" + ",".join(map(str, t)) + "}" for t in p["taps"])
        if not p["count"]:
            out.append(f"   phase {_idx(p['phase'])}: y[{where}] gets no tap at all: it stays 0")
            continue
        out.append(
            f"   phase {_idx(p['phase'])}: y[{where}] uses taps {taps} ({p['count']} tap{'s' if p['count'] > 1 else ''})"
        )
        out += side_by_side(
            [_block("sub-kernel", p["sub_kernel"], style=S), _block("its outputs", p["values"], style=S)], indent=6
        )
    if len(d["phases"]) > 8:
        out.append(f"   … {len(d['phases']) - 8} more phases")
    counts = ", ".join(map(str, d["counts"]))
    out += _wrap(
        "every phase has the same number of taps: even overlap"
        if d["even"]
        else f"taps per phase differ ({counts}): uneven overlap, the source of checkerboard artifacts "
        "(tconv artifacts)" + ("; a phase with no tap is always 0" if 0 in d["counts"] else "")
    )
    return out


def _result(e, st, S):
    d, out = st.data, []
    out += side_by_side([_block(f"y ({_shape_text(e.output)})", d["output"], style=S)])
    names = ", ".join(d["methods"])
    if d["agree"]:
        out += _wrap(S.good("all methods agree") + f": {names} (and the sums of the steps above)")
    else:
        bad = [m for m, ok in {**d["methods"], **d["steps_agree"]}.items() if not ok]
        out.append("   " + S.bad("methods disagree: " + ", ".join(bad)))
    t = d["torch"]
    if not t["available"]:
        out.append(f"   PyTorch: {t['reason']}")
    elif t["equal"]:
        out += _wrap(
            f"PyTorch {t['version']}: torch.nn.functional.{t['call']} "
            + S.good("gives the same")
            + f" (max |difference| {fmt(t['max_abs_diff'])})",
            indent="   ",
        )
    else:
        out += _wrap(
            f"PyTorch {t['version']}: {t['call']} "
            + S.bad("differs")
            + f" (max |difference| {fmt(t['max_abs_diff'])})",
            indent="   ",
        )
    return out


def _adjoint(e, st, S):
    d, out = st.data, []
    out += side_by_side([_block("conv(y)", d["conv_of_output"], style=S), _block("x", d["input"], style=S)])
    if d["equal"]:
        out.append("   conv(y) equals x here: C Cᵀ acts as the identity on this x.")
    else:
        out += _wrap(
            "conv(conv_transpose(x)) = C Cᵀ x, which is not x: conv_transpose is the adjoint of conv "
            "(<conv(y), x> = <y, conv_transpose(x)>), not its inverse."
        )
    if d["CCt"] is not None and np.shape(d["CCt"])[0] <= 16:
        what = "the identity" if d.get("identity") else "not the identity"
        out += side_by_side([_block(f"C Cᵀ ({what})", d["CCt"], style=S, max_cols=16)])
    if not d.get("identity"):
        why = f"its diagonal holds |w|² = {fmt(d['kernel_norm2'])} (for positions whose stamps are not cropped)" + (
            ", and off the diagonal are the overlaps of neighbouring stamps (k_eff > s)." if d["overlap"] else "."
        )
        out += _wrap(why, indent="   ")
    ex = d["orthonormal_example"]
    out += _wrap(
        f"They are equal only when C has orthonormal rows: stamps that do not overlap (k_eff <= s), "
        f"no crop, and a unit-norm kernel. With w' = {fmt(np.ravel(ex['kernel'])[0])} everywhere and "
        f"k = s = {_idx(ex['stride'])}:",
        indent="   ",
    )
    out += side_by_side(
        [
            _block("y' = conv_transpose(x, w')", ex["conv_transpose"], style=S),
            _block("conv(y', w')", ex["conv_back"], style=S),
        ]
    )
    return out


_RENDER = {
    "shape": ("Output size", _shape),
    "scatter": ("Scatter: each input element stamps value × kernel at position × stride", _scatter),
    "zero_insert": ("Zero insertion: insert zeros, pad, convolve with the flipped kernel", _zero_insert),
    "matrix": ("Matrix: conv is a matrix C, conv_transpose is Cᵀ", _matrix),
    "gemm": ("GEMM + col2im: all stamps as one matrix product", _gemm),
    "polyphase": ("Polyphase: s^d phases, each with its own sub-kernel", _polyphase),
    "result": ("Result", _result),
    "adjoint": ("Adjoint, not inverse: conv(y) next to x", _adjoint),
}


def _wrap(text: str, indent: str = "   ", first: str | None = None, width: int = WIDTH):
    """Word-wrap ``text`` (which may hold ANSI codes) to ``width``."""
    lines, line = [], indent if first is None else first
    for word in text.split():
        if vlen(line) + len(" " + word) > width and line.strip():
            lines.append(line.rstrip())
            line = indent
        line += ("" if not line.strip() else " ") + word
    lines.append(line.rstrip())
    return lines


def _args(e) -> str:
    a = e.arguments

    def show(v):
        if isinstance(v, tuple):
            return ",".join(":".join(map(str, p)) if isinstance(p, tuple) else str(p) for p in v)
        return str(v)

    return ", ".join(f"{k} {show(v)}" for k, v in a.items())


def render(explanation, colour: bool = False, sections=None) -> str:
    """The whole explanation as text; ``sections`` limits it to some step kinds (all by default)."""
    S = Style(colour)
    e = explanation
    title = f"tconv explain{' ' + e.name if e.name else ''}"
    out = [
        S.head(f"{title}: conv_transpose of x ({_shape_text(e.input)}) with w ({_shape_text(e.kernel)})"),
        "  " + _args(e),
    ]
    if e.note:
        out += _wrap(f"({e.note})", indent="  ")
    out.append("")
    out += side_by_side([_block("x", e.input, style=S), _block("w", e.kernel, style=S)], indent=0)
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
