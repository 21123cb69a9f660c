"""Text layout for the terminal renderer: numbers, aligned grids, blocks side by side, word wrap.

Widths follow the terminal (:func:`terminal_width`: ``COLUMNS``, else the terminal's size, else 80):
a grid is elided (``…``, ``⋮``) only when it does not fit, and blocks that do not fit side by side
are stacked. Marked cells are written ``[v]`` (and coloured when colour is on), so the text reads
the same piped to a file.

>>> print("\\n".join(grid(np.arange(13), style=Style(width=80))))
  0   1   2   3   4   5   6   7   8   9  10  11  12
>>> print("\\n".join(grid(np.arange(13), style=Style(width=40))))
  0   1   2   3  …  11  12
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata

import numpy as np

__all__ = ["Style", "use_colour", "terminal_width", "vlen", "fmt", "grid", "side_by_side", "wrap", "MAX_ROWS"]

WIDTH = 80  # when nothing says otherwise
MAX_ROWS = 24  # rows of one grid before it is elided with ⋮
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def terminal_width() -> int:
    """``COLUMNS`` when set, else the terminal's width, else 80 (at least 40)."""
    return max(40, shutil.get_terminal_size((WIDTH, 24)).columns)


def use_colour(stream) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


class Style:
    """ANSI styles (or nothing when ``colour`` is false), the line ``width`` to lay text out in, and the
    language's strings ``t`` (:class:`tconv.explainer.i18n.Messages`)."""

    def __init__(self, colour: bool = False, width: int = WIDTH, lang: str = "en"):
        from tconv.explainer.i18n import messages

        self.colour = colour
        self.width = width
        self.t = messages(lang)

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


def _wide(c: str) -> bool:
    return unicodedata.east_asian_width(c) in "WF"


def vlen(s: str) -> int:
    """Visible length in terminal columns: ANSI codes do not count, wide (CJK) characters count 2.

    >>> vlen("x ×"), vlen("転置"), vlen("\x1b[1mab\x1b[0m")
    (3, 4, 2)
    """
    return sum(2 if _wide(c) else 1 for c in _ANSI.sub("", s))


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


def grid(
    a,
    mark=None,
    texts=None,
    style: Style | None = None,
    room: int | None = None,
    max_rows: int = MAX_ROWS,
    max_cols: int | None = None,
    mark_style=None,
):
    """A 1-D or 2-D array as aligned lines; ``mark`` (same shape, bool) cells as ``[v]``.

    Columns are elided only when the grid would be wider than ``room`` (default: the style's width
    less the renderer's indent of 6) or has more than ``max_cols``; rows beyond ``max_rows``.

    >>> print("\\n".join(grid(np.array([[2, 0], [0, 12]]), mark=np.eye(2, dtype=bool))))
    [ 2]  0
      0 [12]
    """
    style = style or Style()
    room = style.width - 6 if room is None else room
    paint = mark_style or style.mark
    a = np.asarray(a)
    two = a.reshape(1, -1) if a.ndim == 1 else a
    m = None if mark is None else np.asarray(mark).reshape(two.shape)
    t = np.vectorize(fmt, otypes=[object])(two) if texts is None else np.asarray(texts, dtype=object).reshape(two.shape)
    width = max((len(v) for v in t.ravel()), default=1)
    fits = max(4, room // (width + 2))  # every cell is width + 2 wide; the gap "…" is 3
    if two.shape[1] > fits:
        fits = max(4, (room - 3) // (width + 2))
    max_cols = fits if max_cols is None else min(fits, max_cols)
    rows, cols = _elide(two.shape[0], max_rows), _elide(two.shape[1], max_cols)
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


#: Characters a line may not start with, and may not end with (Japanese line breaking, kinsoku).
_NO_START = set("、。，．・：；？！）」』】〕〉》ー々ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ…,.:;!?)]")
_NO_END = set("（「『【〔〈《([")


def _pieces(word: str) -> list[str]:
    """``word`` cut where a line may break inside it: between wide (CJK) characters, kinsoku kept.

    >>> _pieces("転置畳み込み。"), _pieces("flip(w)")
    (['転', '置', '畳', 'み', '込', 'み。'], ['flip(w)'])
    """
    pieces, prev = [""], ""
    for part in re.split(f"({_ANSI.pattern})", word):
        if _ANSI.fullmatch(part or "x"):
            pieces[-1] += part
            continue
        for c in part:
            if prev and (_wide(prev) or _wide(c)) and c not in _NO_START and prev not in _NO_END:
                pieces.append("")
            pieces[-1] += c
            prev = c
    return [p for p in pieces if p]


def wrap(text: str, indent: str = "   ", first: str | None = None, width: int = WIDTH):
    """Word-wrap ``text`` (which may hold ANSI codes) to ``width`` columns; CJK text breaks between characters.

    >>> wrap("転置畳み込みは畳み込みの随伴であり、逆ではない。", indent="", width=16)
    ['転置畳み込みは畳', 'み込みの随伴であ', 'り、逆ではない。']
    """
    lines, line = [], indent if first is None else first
    for word in text.split():
        for n, piece in enumerate(_pieces(word)):
            sep = "" if n or not line.strip() else " "
            if vlen(line) + vlen(sep + piece) > width and line.strip():
                lines.append(line.rstrip())
                line, sep = indent, ""
            line += sep + piece
    lines.append(line.rstrip())
    return lines
