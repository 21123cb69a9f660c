"""The explainer's animation (GIF, drawn frame by frame with Pillow): one frame per stamp (scatter)
or per output position (zero insertion), then the result; a legend line says what the colours mean.

Drawn from the explanation's typed steps, so any parameters work, like the figures of Dumoulin &
Visin's *convolution arithmetic*. Pillow is imported only here, only when a GIF is asked for.
"""

from __future__ import annotations

import numpy as np

from tconv.errors import TConvError
from tconv.explainer.palette import _GREY, _MARK, _PAD, _as2d, _fill, _label, _need

__all__ = ["animation"]

LEGEND = "blue +, red -, white 0, grey . padding; orange border: the cells this step touches"


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
    g, d = e.g, e.step(kind)
    x, y = e.x, (e.layer_output[0] if e.channelled else e.output)
    big = d.full if kind == "scatter" else d.padded
    cols = sum(_as2d(a).shape[1] for a in (x, e.w, big, y))
    cell = int(max(6, min(28, 760 // max(cols, 1))))
    font = ImageFont.load_default()
    gap = 24
    rows = max(_as2d(a).shape[0] for a in (x, e.w, big, y))
    W = 16 + cols * cell + 3 * gap + 16
    H = 16 + 16 + 16 + rows * cell + 16 + 18 + 14
    W = max(W, 460)
    frames = []
    vmax = float(max(np.max(np.abs(d.full if kind == "scatter" else d.output)), np.max(np.abs(y)), 1))
    a = e.arguments
    caption = (
        f"stride {a['stride']}, padding {a['padding']}, output_padding {a['output_padding']}, dilation {a['dilation']}"
    )

    def frame(title, panels):
        im = Image.new("RGB", (W, H), (255, 255, 255))
        dr = ImageDraw.Draw(im)
        dr.text((16, 8), title, fill=(0, 0, 0), font=font)
        dr.text((16, H - 32), caption, fill=_GREY, font=font)
        dr.text((16, H - 18), LEGEND, fill=_GREY, font=font)
        x = 16
        for args, kw in panels:
            x = _draw(dr, font, *args, x0=x, y0=30, cell=cell, **kw) + gap
        frames.append(im)

    if kind == "scatter":
        shape = np.shape(d.full)
        for s in d.stamps:
            xm = np.zeros(np.shape(x), dtype=bool)
            xm[tuple(s.index)] = True
            touched = np.zeros(shape, dtype=bool)
            touched[tuple(slice(p, p + ke, dd) for p, ke, dd in zip(s.at, g.effective_kernel, g.dilation))] = True
            idx = ",".join(map(str, s.index))
            frame(
                f"scatter: x[{idx}] = {_label(s.value)} stamps {_label(s.value)}·w at ({','.join(map(str, s.at))})",
                [
                    ((x, "x"), {"mark": xm}),
                    ((s.stamp, "stamp"), {"vmax": vmax}),
                    ((s.sum, "running sum F"), {"mark": touched, "vmax": vmax}),
                ],
            )
        box2 = _crop_box(d.begin, d.end, shape)
        frame(
            "sum of all stamps; the green box is kept (the crop), giving y",
            [((x, "x"), {}), ((d.full, "F"), {"box": box2, "vmax": vmax}), ((y, "y"), {"vmax": vmax})],
        )
    else:
        texts = np.where(d.origin == 0, ".", np.vectorize(_label, otypes=[object])(d.padded))
        done = np.zeros(np.shape(y), dtype=bool)
        for wdw in d.windows:
            mark = np.zeros(np.shape(d.padded), dtype=bool)
            mark[tuple(slice(o, o + ke, dd) for o, ke, dd in zip(wdw.out, g.effective_kernel, g.dilation))] = True
            done[tuple(wdw.out)] = True
            cur = np.zeros_like(done)
            cur[tuple(wdw.out)] = True
            partial = np.where(done, np.vectorize(_label, otypes=[object])(y), "")
            frame(
                f"zero insertion: y[{','.join(map(str, wdw.out))}] = window · flip(w) = {_label(wdw.sum)}",
                [
                    ((d.padded, "padded input P"), {"mark": mark, "texts": texts}),
                    ((d.flipped, "flip(w)"), {}),
                    ((y, "y"), {"mark": cur, "vmax": vmax, "texts": partial}),
                ],
            )
        frame(
            "zero insertion: every window done",
            [
                ((d.padded, "padded input P"), {"texts": texts}),
                ((d.flipped, "flip(w)"), {}),
                ((y, "y"), {"vmax": vmax}),
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
