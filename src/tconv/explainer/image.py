"""Pictures of an :class:`~tconv.explainer.steps.Explanation`: a diagram (PNG/SVG) and an animation (GIF).

Chosen by the file's extension (:func:`save`). The diagram is drawn with matplotlib, the animation
frame by frame with Pillow — both imported only here, only when a picture is asked for (the
``plot`` extra). Like the conv_arithmetic figures, but drawn from the explainer's own steps, so any
parameters work: one GIF frame per stamp (scatter) or per output position (zero insertion).
"""

from __future__ import annotations

import numpy as np

from tconv.errors import TConvError

__all__ = ["save", "diagram", "animation", "save_artifacts", "MAX_FRAMES"]

MAX_FRAMES = 64  # the explanation keeps at most this many stamps/windows by default
_BLUE, _RED, _MARK, _PAD, _GREY = (66, 133, 244), (219, 68, 55), (255, 140, 0), (235, 235, 235), (120, 120, 120)


def _need(module: str):
    """Import matplotlib or PIL, or say how to get them (a TConvError: the CLI prints one line)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise TConvError(
            f"pictures need {'matplotlib' if top == 'matplotlib' else 'Pillow'}, which is not installed: "
            "pip install 'tconv[plot]'"
        ) from None


def save(explanation, path: str) -> tuple:
    """Write ``path`` (``.png``/``.svg`` diagram, ``.gif`` animation); returns its size in pixels."""
    suffix = str(path).rsplit(".", 1)[-1].lower()
    if suffix in ("png", "svg"):
        return diagram(explanation, path)
    if suffix == "gif":
        return animation(explanation, path)
    raise TConvError(f"--out {path}: pictures are .png, .svg or .gif")


# ---- colours shared by both renderers -------------------------------------------------------------


def _fill(v, vmax):
    """Cell colour: blue for positive values, red for negative, white for zero (RGB 0..255)."""
    if vmax == 0 or v == 0:
        return (255, 255, 255)
    base = _BLUE if v > 0 else _RED
    t = 0.15 + 0.55 * min(abs(float(v)) / vmax, 1.0)
    return tuple(int(255 + (c - 255) * t) for c in base)


def _label(v) -> str:
    from tconv.explainer.text import fmt

    return fmt(v)


def _as2d(a):
    a = np.asarray(a)
    return a.reshape(1, -1) if a.ndim == 1 else a


# ---- the diagram (matplotlib) ---------------------------------------------------------------------

CELL_IN = 0.32  # inches per cell
DPI = 100


def _panels(e):
    """The diagram's rows of panels: (title, array, mark, texts) — all read from the steps."""
    g = e.geometry
    rows = [[("input x", e.input, None, None), ("kernel w", e.kernel, None, None)]]
    try:
        zi = e.step("zero_insert").data
        rows[0].append(("flip(w): zero insertion's kernel", zi["flipped"], None, None))
    except KeyError:
        zi = None
    rows[0].append((f"output y {_shape(e.output)}", e.output, None, None))
    try:
        sc = e.step("scatter").data
    except KeyError:
        sc = None
    if sc:
        row = []
        for s in sc["stamps"][:4]:
            touched = np.zeros(np.shape(sc["full"]), dtype=bool)
            touched[tuple(slice(a, a + ke, d) for a, ke, d in zip(s["at"], g.effective_kernel, g.dilation))] = True
            idx = ",".join(map(str, s["index"]))
            row.append((f"scatter: + x[{idx}]·w at ({','.join(map(str, s['at']))})", s["sum"], touched, None))
        kept = np.zeros(np.shape(sc["full"]), dtype=bool)
        kept[tuple(slice(b, min(f - en, f)) for b, en, f in zip(sc["begin"], sc["end"], np.shape(sc["full"])))] = True
        more = f" (+{sc['more'] + max(len(sc['stamps']) - 4, 0)} stamps)" if len(sc["stamps"]) > 4 or sc["more"] else ""
        row.append((f"sum F{more}; kept after crop", sc["full"], kept, None))
        rows.append(row)
    if zi:
        texts = np.where(np.asarray(zi["origin"]) == 0, ".", np.vectorize(_label, otypes=[object])(zi["padded"]))
        row = []
        for wdw in zi["windows"][:3]:
            mark = np.zeros(np.shape(zi["padded"]), dtype=bool)
            mark[tuple(slice(o, o + ke, d) for o, ke, d in zip(wdw["out"], g.effective_kernel, g.dilation))] = True
            row.append(
                (
                    f"zero insertion: y[{','.join(map(str, wdw['out']))}] = {_label(wdw['sum'])}",
                    zi["padded"],
                    mark,
                    texts,
                )
            )
        if not zi["symmetric"]:
            row.append(("without the flip (wrong)", zi["unflipped_output"], None, None))
        rows.append(row)
    adj = e.step("adjoint").data
    rows.append([("conv(y): not x", adj["conv_of_output"], None, None), ("x", e.input, None, None)])
    return rows


def _shape(a) -> str:
    return "(" + "×".join(map(str, np.shape(a))) + ")"


def diagram(e, path: str) -> tuple:
    """Draw the steps as rows of grids; returns the image size in pixels (width, height)."""
    Figure = _need("matplotlib.figure").Figure  # no pyplot: no global state, no GUI backend
    from matplotlib.patches import Rectangle

    rows = _panels(e)
    gap, title_h = 1.2, 1.4
    # Titles are wider than small grids: give each panel at least 7 cells.
    widths = [sum(max(_as2d(p[1]).shape[1], 7) for p in row) + gap * (len(row) - 1) for row in rows]
    heights = [max(_as2d(p[1]).shape[0] for p in row) + title_h for row in rows]
    W, H = max(widths) + 1, sum(heights) + 1.5
    scale = min(1.0, 16 / (W * CELL_IN), 24 / (H * CELL_IN))  # at most 16 × 24 inches
    fig = Figure(figsize=(W * CELL_IN * scale, H * CELL_IN * scale), dpi=DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, W)
    ax.set_ylim(H, 0)
    ax.axis("off")
    font = 9 * scale
    a = e.arguments
    ax.text(
        0.5,
        0.9,
        f"conv_transpose: stride {a['stride']}, padding {a['padding']}, output_padding "
        f"{a['output_padding']}, dilation {a['dilation']}",
        fontsize=font * 1.2,
        weight="bold",
        va="center",
    )
    y = 1.5
    for row, h in zip(rows, heights):
        x = 0.5
        for title, arr, mark, texts in row:
            arr2 = _as2d(arr)
            vmax = float(np.max(np.abs(arr2))) if arr2.size else 0
            ax.text(x, y + 0.6, title, fontsize=font, va="center")
            if arr2.size > 400:  # too many cells to draw one by one: one image, marks tinted orange
                _raster(
                    ax,
                    arr2,
                    mark,
                    texts,
                    vmax,
                    (x, x + arr2.shape[1], y + title_h + arr2.shape[0] - 0.2, y + title_h - 0.2),
                )
                x += max(arr2.shape[1], 7) + gap
                continue
            numbers = True
            for (r, c), v in np.ndenumerate(arr2):
                pad = texts is not None and _as2d(texts)[r, c] == "."
                col = np.array(_PAD if pad else _fill(v, vmax)) / 255
                ax.add_patch(
                    Rectangle((x + c, y + title_h + r - 0.2), 1, 1, facecolor=col, edgecolor="0.6", lw=0.5 * scale)
                )
                if numbers:
                    ax.text(
                        x + c + 0.5,
                        y + title_h + r + 0.3,
                        "." if pad else _label(v),
                        ha="center",
                        va="center",
                        fontsize=font * (0.85 if len(_label(v)) < 4 else 0.7),
                    )
            for (r, c), m in np.ndenumerate(_as2d(mark) if mark is not None else np.zeros((0, 0))):
                if m:  # drawn last, so neighbouring cells do not paint over the border
                    ax.add_patch(
                        Rectangle(
                            (x + c, y + title_h + r - 0.2),
                            1,
                            1,
                            fill=False,
                            edgecolor=np.array(_MARK) / 255,
                            lw=2.2 * scale,
                        )
                    )
            x += max(arr2.shape[1], 7) + gap
        y += h
    fig.savefig(path, dpi=DPI)
    return fig.canvas.get_width_height()  # the pixel size Agg rendered


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
        ax.add_patch(
            Rectangle(
                (left + cols[0], top + rows[0]),
                cols[-1] - cols[0] + 1,
                rows[-1] - rows[0] + 1,
                fill=False,
                edgecolor=np.array(_MARK) / 255,
                lw=1.5,
            )
        )


# ---- the animation (Pillow) -----------------------------------------------------------------------


def _draw(draw, font, arr, title, *, x0, y0, cell, mark=None, texts=None, vmax=None, box=None):
    """One grid at (x0, y0) with a title above; marked cells get a thick orange border."""
    arr2 = _as2d(arr)
    vmax = float(np.max(np.abs(arr2))) if vmax is None else vmax
    draw.text((x0, y0), title, fill=(0, 0, 0), font=font)
    y0 += 16
    for (r, c), v in np.ndenumerate(arr2):
        text = _label(v) if texts is None else _as2d(texts)[r, c]
        pad = text == "."  # padding; "" is a cell not computed yet
        x, y = x0 + c * cell, y0 + r * cell
        draw.rectangle(
            (x, y, x + cell, y + cell),
            fill=_PAD if pad else _fill(v, vmax) if text else (255, 255, 255),
            outline=(160, 160, 160),
        )
        if cell >= 16 and text:
            s = text
            l, t, rr, b = draw.textbbox((0, 0), s, font=font)
            draw.text(
                (x + (cell - (rr - l)) / 2, y + (cell - (b - t)) / 2 - t),
                s,
                fill=(0, 0, 0) if not pad else _GREY,
                font=font,
            )
    if mark is not None:
        for (r, c), m in np.ndenumerate(_as2d(mark)):
            if m:
                x, y = x0 + c * cell, y0 + r * cell
                draw.rectangle((x, y, x + cell, y + cell), outline=_MARK, width=3)
    if box is not None:  # (r0, c0, r1, c1) in cells: the part kept after the crop
        r0, c0, r1, c1 = box
        draw.rectangle((x0 + c0 * cell, y0 + r0 * cell, x0 + c1 * cell, y0 + r1 * cell), outline=(0, 150, 0), width=2)
    return x0 + arr2.shape[1] * cell


def animation(e, path: str) -> tuple:
    """One frame per stamp (scatter) or per output position (zero insertion), then the result.

    Zero insertion is animated when the explanation shows only that method; scatter otherwise.
    Returns the frame size in pixels (width, height).
    """
    Image, ImageDraw, ImageFont = _need("PIL.Image"), _need("PIL.ImageDraw"), _need("PIL.ImageFont")
    kinds = [s.kind for s in e.steps]
    kind = "scatter" if "scatter" in kinds else "zero_insert" if "zero_insert" in kinds else None
    if kind is None:
        raise TConvError("--out *.gif animates scatter or zero_insert: use --method all, scatter or zero_insert")
    g, d = e.geometry, e.step(kind).data
    big = d["full"] if kind == "scatter" else d["padded"]
    cols = sum(_as2d(a).shape[1] for a in (e.input, e.kernel, big, e.output))
    cell = int(max(6, min(28, 760 // max(cols, 1))))
    font = ImageFont.load_default()
    gap = 24
    rows = max(_as2d(a).shape[0] for a in (e.input, e.kernel, big, e.output))
    W = 16 + cols * cell + 3 * gap + 16
    H = 16 + 16 + 16 + rows * cell + 16 + 18
    W = max(W, 460)
    frames = []
    vmax = float(max(np.max(np.abs(d["full" if kind == "scatter" else "output"])), np.max(np.abs(e.output)), 1))
    a = e.arguments
    caption = (
        f"stride {a['stride']}, padding {a['padding']}, output_padding {a['output_padding']}, dilation {a['dilation']}"
    )

    def frame(title, panels):
        im = Image.new("RGB", (W, H), (255, 255, 255))
        dr = ImageDraw.Draw(im)
        dr.text((16, 8), title, fill=(0, 0, 0), font=font)
        dr.text((16, H - 18), caption, fill=_GREY, font=font)
        x = 16
        for args, kw in panels:
            x = _draw(dr, font, *args, x0=x, y0=30, cell=cell, **kw) + gap
        frames.append(im)

    if kind == "scatter":
        shape = np.shape(d["full"])
        for s in d["stamps"]:
            xm = np.zeros(np.shape(e.input), dtype=bool)
            xm[tuple(s["index"])] = True
            touched = np.zeros(shape, dtype=bool)
            touched[tuple(slice(p, p + ke, dd) for p, ke, dd in zip(s["at"], g.effective_kernel, g.dilation))] = True
            idx = ",".join(map(str, s["index"]))
            frame(
                f"scatter: x[{idx}] = {_label(s['value'])} stamps {_label(s['value'])}·w at ({','.join(map(str, s['at']))})",
                [
                    ((e.input, "x"), {"mark": xm}),
                    ((s["stamp"], "stamp"), {"vmax": vmax}),
                    ((s["sum"], "running sum F"), {"mark": touched, "vmax": vmax}),
                ],
            )
        box2 = _crop_box(d["begin"], d["end"], shape)
        frame(
            "sum of all stamps; the green box is kept (the crop), giving y",
            [((e.input, "x"), {}), ((d["full"], "F"), {"box": box2, "vmax": vmax}), ((e.output, "y"), {"vmax": vmax})],
        )
    else:
        texts = np.where(np.asarray(d["origin"]) == 0, ".", np.vectorize(_label, otypes=[object])(d["padded"]))
        done = np.zeros(np.shape(e.output), dtype=bool)
        for wdw in d["windows"]:
            mark = np.zeros(np.shape(d["padded"]), dtype=bool)
            mark[tuple(slice(o, o + ke, dd) for o, ke, dd in zip(wdw["out"], g.effective_kernel, g.dilation))] = True
            done[tuple(wdw["out"])] = True
            cur = np.zeros_like(done)
            cur[tuple(wdw["out"])] = True
            partial = np.where(done, np.vectorize(_label, otypes=[object])(e.output), "")
            frame(
                f"zero insertion: y[{','.join(map(str, wdw['out']))}] = window · flip(w) = {_label(wdw['sum'])}",
                [
                    ((d["padded"], "padded input P"), {"mark": mark, "texts": texts}),
                    ((d["flipped"], "flip(w)"), {}),
                    ((e.output, "y"), {"mark": cur, "vmax": vmax, "texts": partial}),
                ],
            )
        frame(
            "zero insertion: every window done",
            [
                ((d["padded"], "padded input P"), {"texts": texts}),
                ((d["flipped"], "flip(w)"), {}),
                ((e.output, "y"), {"vmax": vmax}),
            ],
        )
    # One shared palette: consecutive frames then differ only where the drawing changed (small files).
    both = Image.new("RGB", (W, 2 * H))
    both.paste(frames[0], (0, 0))  # the first frame has the marks, the last all of y's colours
    both.paste(frames[-1], (0, H))
    palette = both.quantize(colors=64, dither=Image.Dither.NONE)
    frames = [f.quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    frames[0].save(
        path,
        save_all=True,
        append_images=frames[1:],
        duration=[900] * (len(frames) - 1) + [2500],
        loop=0,
        optimize=False,
        disposal=1,
    )
    return (W, H)


def _crop_box(begin, end, shape):
    two = [(0, 1)] if len(shape) == 1 else []
    spans = [(b, min(f - en, f)) for b, en, f in zip(begin, end, shape)]
    (r0, r1), (c0, c1) = (two + spans) if len(shape) == 1 else spans
    return (r0, c0, r1, c1)


# ---- checkerboard artifacts -------------------------------------------------------------------------


def save_artifacts(analysis, path: str) -> tuple:
    """The overlap map (taps per output position) as a picture; returns its size in pixels."""
    if str(path).rsplit(".", 1)[-1].lower() not in ("png", "svg"):
        raise TConvError(f"--out {path}: the artifacts picture is .png or .svg")
    Figure = _need("matplotlib.figure").Figure
    m = _as2d(analysis["overlap"])
    ax_txt = "; ".join(
        f"axis {n}: k={a['kernel']} s={a['stride']} d={a['dilation']} -> {' '.join(map(str, a['counts']))}"
        for n, a in enumerate(analysis["axes"])
    )
    verdict = "even" if analysis["even"] else "holes" if analysis["holes"] else "uneven: checkerboard"
    w_in, h_in = max(4.0, 0.35 * m.shape[1] + 0.4), 0.35 * m.shape[0] + 1.0  # 0.8 inch for the title
    fig = Figure(figsize=(w_in, h_in), dpi=DPI)
    grid_w, grid_h = 0.35 * m.shape[1] / w_in, 0.35 * m.shape[0] / h_in
    ax = fig.add_axes(((1 - grid_w) / 2, 0.2 / h_in, grid_w, grid_h))
    top = max(int(m.max()), 1)
    ax.imshow(m, cmap="Blues", vmin=0, vmax=top, aspect="auto")
    if m.size <= 900:
        for (r, c), v in np.ndenumerate(m):
            ax.text(c, r, str(v), ha="center", va="center", fontsize=7, color="white" if v > top / 2 else "black")
    ax.set_xticks([])
    ax.set_yticks([])
    fig.suptitle(f"taps per output position ({verdict})\n{ax_txt}", fontsize=8, y=1 - 0.1 / h_in, va="top")
    fig.savefig(path, dpi=DPI)
    return fig.canvas.get_width_height()  # the pixel size Agg rendered
