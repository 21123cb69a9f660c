"""Pictures of an :class:`~tconv.explainer.steps.Explanation`: a diagram (PNG/SVG) and an animation (GIF).

Chosen by the file's extension (:func:`save`). The diagram is drawn here with matplotlib, the
animation frame by frame with Pillow (:mod:`tconv.explainer.animation`) — both imported only here, only when a picture is asked for (the
``plot`` extra). Like the conv_arithmetic figures, but drawn from the explainer's own steps, so any
parameters work: one GIF frame per stamp (scatter) or per output position (zero insertion).
"""

from __future__ import annotations

import functools

import numpy as np

from tconv.errors import TConvError
from tconv.explainer.i18n import messages
from tconv.explainer.palette import _MARK, _PAD, FONT, _as2d, _fill, _label, _need, picture_lang

__all__ = ["save", "diagram", "save_artifacts", "MAX_FRAMES", "LEGEND"]

MAX_FRAMES = 64  # the explanation keeps at most this many stamps/windows by default


def save(explanation, path: str) -> tuple:
    """Write ``path`` (``.png``/``.svg`` diagram, ``.gif`` animation); returns its size in pixels."""
    suffix = str(path).rsplit(".", 1)[-1].lower()
    if suffix in ("png", "svg"):
        return diagram(explanation, path)
    if suffix == "gif":
        from tconv.explainer.animation import animation

        return animation(explanation, path)
    raise TConvError(f"--out {path}: pictures are .png, .svg or .gif")


# ---- the diagram (matplotlib) ---------------------------------------------------------------------

CELL_IN = 0.28  # inches per cell
DPI = 100


def _panels(e, t):
    """The diagram's rows of panels: (title, array, mark, texts) — all read from the steps."""
    g = e.g
    kinds = {s.kind for s in e.steps}
    zi = e.step("zero_insert") if "zero_insert" in kinds else None
    sc = e.step("scatter") if "scatter" in kinds else None
    big = max(max(np.shape(e.layer_output)), max(e.g.full)) > 12
    rows = [[(t("pic.input"), e.x, None, None), (t("pic.kernel"), e.w, None, None)]]
    if zi:
        rows[0].append((t("pic.flip"), zi.flipped, None, None))
    y = e.layer_output[0] if e.channelled else e.output
    rows[0].append((t("pic.output", c="[0]" if e.channelled else "", shape=_shape(y)), y, None, None))
    if sc:
        row = []
        shown = 2 if big else 4
        for s in sc.stamps[:shown]:
            touched = np.zeros(np.shape(sc.full), dtype=bool)
            touched[tuple(slice(a, a + ke, d) for a, ke, d in zip(s.at, g.effective_kernel, g.dilation))] = True
            idx = ",".join(map(str, s.index))
            row.append((t("pic.scatter", i=idx, at=",".join(map(str, s.at))), s.sum, touched, None))
        kept = np.zeros(np.shape(sc.full), dtype=bool)
        kept[tuple(slice(b, min(f - en, f)) for b, en, f in zip(sc.begin, sc.end, np.shape(sc.full)))] = True
        hidden = sc.more + max(len(sc.stamps) - shown, 0)
        row.append((t("pic.sum", hidden=t("pic.hidden", n=hidden) if hidden else ""), sc.full, kept, None))
        rows.append(row)
    if zi:
        texts = np.where(zi.origin == 0, ".", np.vectorize(_label, otypes=[object])(zi.padded))
        row = []
        for wdw in zi.windows[: 1 if big else 3]:
            mark = np.zeros(np.shape(zi.padded), dtype=bool)
            mark[tuple(slice(o, o + ke, d) for o, ke, d in zip(wdw.out, g.effective_kernel, g.dilation))] = True
            row.append((t("pic.zero", o=",".join(map(str, wdw.out)), v=_label(wdw.sum)), zi.padded, mark, texts))
        if not zi.symmetric:
            row.append((t("pic.unflipped"), zi.unflipped_output, None, None))
        rows.append(row)
    adj = e.step("adjoint")
    rows.append(
        [(t("pic.not_x" if not adj.equal else "pic.is_x"), adj.conv_of_output, None, None), ("x", e.x, None, None)]
    )
    return rows


def _shape(a) -> str:
    return "(" + "×".join(map(str, np.shape(a))) + ")"


MAX_CELLS = 16  # a panel is at most this many cell widths across: bigger arrays are drawn smaller
MAX_UNITS = 60  # a row of panels is at most this many cell widths: more panels wrap to the next row
#: The legend's colours and the keys of what they mean (the last: the orange border).
LEGEND = (
    (_fill(1, 1), "pic.positive"),
    (_fill(-1, 1), "pic.negative"),
    ((255, 255, 255), "pic.zero_cell"),
    (_PAD, "pic.padding"),
    (None, "pic.border"),
)


def _layout(rows):
    """Panels as (title, array, mark, texts, unit) in rows of at most MAX_UNITS cell widths.

    ``unit`` is the size of one cell (1 = a full cell with its number; less for big arrays, drawn as
    one image), so a 41×41 sum takes the room of 16×16 cells and the titles keep their size.
    """
    out = []
    for row in rows:
        line, used = [], 0.0
        for title, arr, mark, texts in row:
            n = max(_as2d(arr).shape)
            unit = min(1.0, MAX_CELLS / n)
            width = max(_as2d(arr).shape[1] * unit, 7)
            if line and used + width > MAX_UNITS:
                out.append(line)
                line, used = [], 0.0
            line.append((title, arr, mark, texts, unit))
            used += width + 1.2
        out.append(line)
    return out


def diagram(e, path: str) -> tuple:
    """Draw the steps as rows of grids, with a legend; returns the image size in pixels (width, height).

    Fonts keep one size whatever the input: big arrays are drawn with smaller cells (and without
    their numbers, which would not be readable), not by shrinking the whole figure.
    """
    Figure = _need("matplotlib.figure").Figure  # no pyplot: no global state, no GUI backend
    from matplotlib.patches import Rectangle

    t = messages(picture_lang(e.lang))
    rows = _layout(_panels(e, t))
    gap, title_h = 1.2, 1.4
    widths = [sum(max(_as2d(p[1]).shape[1] * p[4], 7) for p in row) + gap * (len(row) - 1) for row in rows]
    heights = [max(_as2d(p[1]).shape[0] * p[4] for p in row) + title_h + 0.4 for row in rows]
    legend_h = 2.2
    W, H = max(max(widths) + 1, 30), sum(heights) + 1.5 + legend_h
    fig = Figure(figsize=(W * CELL_IN, H * CELL_IN), dpi=DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, W)
    ax.set_ylim(H, 0)
    ax.axis("off")
    font = 9
    a = e.arguments
    text = functools.partial(ax.text, family=FONT)
    text(
        0.5,
        0.9,
        t("pic.header", s=a["stride"], p=a["padding"], op=a["output_padding"], d=a["dilation"]),
        fontsize=font * 1.2,
        weight="bold",
        va="center",
    )
    y = 1.5
    for row, h in zip(rows, heights):
        x = 0.5
        for title, arr, mark, texts, unit in row:
            arr2 = _as2d(arr)
            vmax = float(np.max(np.abs(arr2))) if arr2.size else 0
            text(x, y + 0.6, title, fontsize=font, va="center")
            top = y + title_h - 0.2
            if unit < 1:  # too many cells to number: one image, marks tinted orange
                _raster(ax, arr2, mark, texts, vmax, (x, x + arr2.shape[1] * unit, top + arr2.shape[0] * unit, top))
                x += max(arr2.shape[1] * unit, 7) + gap
                continue
            for (r, c), v in np.ndenumerate(arr2):
                pad = texts is not None and _as2d(texts)[r, c] == "."
                col = np.array(_PAD if pad else _fill(v, vmax)) / 255
                ax.add_patch(Rectangle((x + c, top + r), 1, 1, facecolor=col, edgecolor="0.6", lw=0.5))
                text(
                    x + c + 0.5,
                    top + r + 0.5,
                    "." if pad else _label(v),
                    ha="center",
                    va="center",
                    fontsize=font * (0.85 if len(_label(v)) < 4 else 0.7),
                )
            for (r, c), m in np.ndenumerate(_as2d(mark) if mark is not None else np.zeros((0, 0))):
                if m:  # drawn last, so neighbouring cells do not paint over the border
                    ax.add_patch(Rectangle((x + c, top + r), 1, 1, fill=False, edgecolor=np.array(_MARK) / 255, lw=2.2))
            x += max(arr2.shape[1], 7) + gap
        y += h
    _legend(text, ax, Rectangle, 0.5, y + 0.3, font, t)
    fig.savefig(path, dpi=DPI)
    return fig.canvas.get_width_height()  # the pixel size Agg rendered


def _legend(text, ax, Rectangle, x, y, font, t):
    """One line of colour swatches and what they mean, then the marks."""
    for colour, key in LEGEND[:-1]:
        ax.add_patch(Rectangle((x, y), 0.8, 0.8, facecolor=np.array(colour) / 255, edgecolor="0.6", lw=0.5))
        text(x + 1.1, y + 0.4, t(key), fontsize=font, va="center")
        x += 1.6 + 0.42 * len(t(key))
    ax.add_patch(Rectangle((0.5, y + 1.1), 0.8, 0.8, fill=False, edgecolor=np.array(_MARK) / 255, lw=2.2))
    text(1.6, y + 1.5, t(LEGEND[-1][1]), fontsize=font, va="center")


def _raster(ax, arr2, mark, texts, vmax, extent):
    rgb = np.array([[_fill(v, vmax) for v in row] for row in arr2], dtype=float)
    if texts is not None:
        rgb[_as2d(texts) == "."] = _PAD
    m = None if mark is None else _as2d(mark)
    if m is not None and m.mean() <= 0.5:
        rgb[m] = 0.5 * rgb[m] + 0.5 * np.array(_MARK)
    ax.imshow(rgb / 255, extent=extent, interpolation="nearest", aspect="auto")
    from matplotlib.patches import Rectangle

    ax.add_patch(
        Rectangle(
            (extent[0], extent[3]), extent[1] - extent[0], extent[2] - extent[3], fill=False, edgecolor="0.6", lw=0.5
        )
    )
    if m is not None and m.mean() > 0.5:  # a big marked window (the crop): outline it instead
        rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
        left, top = extent[0], extent[3]
        ux, uy = (extent[1] - extent[0]) / arr2.shape[1], (extent[2] - extent[3]) / arr2.shape[0]  # one cell
        ax.add_patch(
            Rectangle(
                (left + cols[0] * ux, top + rows[0] * uy),
                (cols[-1] - cols[0] + 1) * ux,
                (rows[-1] - rows[0] + 1) * uy,
                fill=False,
                edgecolor=np.array(_MARK) / 255,
                lw=1.5,
            )
        )


# ---- checkerboard artifacts -------------------------------------------------------------------------


def save_artifacts(analysis, path: str, lang: str = "en") -> tuple:
    """The overlap map (taps per output position) as a picture; returns its size in pixels."""
    t = messages(picture_lang(lang))
    if str(path).rsplit(".", 1)[-1].lower() not in ("png", "svg"):
        raise TConvError(f"--out {path}: the artifacts picture is .png or .svg")
    if len(analysis["axes"]) > 2:
        raise TConvError(f"--out {path}: the artifacts picture draws 1 or 2 axes; for 3, print the text (no --out)")
    Figure = _need("matplotlib.figure").Figure
    m = _as2d(analysis["overlap"])
    ax_txt = "; ".join(
        t("pic.art.axis", n=n, k=a["kernel"], s=a["stride"], d=a["dilation"], counts=" ".join(map(str, a["counts"])))
        for n, a in enumerate(analysis["axes"])
    )
    verdict = (
        t("art.verdict.even")
        if analysis["even"]
        else t("art.verdict.holes")
        if analysis["holes"]
        else t("pic.art.checkerboard")
    )
    w_in, h_in = max(4.0, 0.35 * m.shape[1] + 0.4), 0.35 * m.shape[0] + 1.0  # 0.8 inch for the title
    fig = Figure(figsize=(w_in, h_in), dpi=DPI)
    grid_w, grid_h = 0.35 * m.shape[1] / w_in, 0.35 * m.shape[0] / h_in
    ax = fig.add_axes(((1 - grid_w) / 2, 0.2 / h_in, grid_w, grid_h))
    top = max(int(m.max()), 1)
    ax.imshow(m, cmap="Blues", vmin=0, vmax=top, aspect="auto")
    if m.size <= 900:
        for (r, c), v in np.ndenumerate(m):
            ax.text(
                c,
                r,
                str(v),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if v > top / 2 else "black",
                family=FONT,
            )
    ax.set_xticks([])
    ax.set_yticks([])
    title = t("pic.art.title", verdict=verdict) + "\n" + ax_txt
    fig.suptitle(title, fontsize=8, y=1 - 0.1 / h_in, va="top", family=FONT)
    fig.savefig(path, dpi=DPI)
    return fig.canvas.get_width_height()  # the pixel size Agg rendered
