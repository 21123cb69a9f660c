"""The explainer's animation (GIF, drawn frame by frame with Pillow): one frame per stamp (scatter)
or per output position (zero insertion), then the result; a legend says what every colour means.

Drawn from the explanation's typed steps, so any parameters work, like the figures of Dumoulin &
Visin's *convolution arithmetic*. Pillow is imported only here, only when a GIF is asked for.
"""

from __future__ import annotations

import numpy as np

from tconv.errors import TConvError
from tconv.explainer.i18n import messages
from tconv.explainer.palette import _GREY, _KEPT, _MARK, _PAD, _as2d, _fill, _label, _need, font_path, picture_lang

__all__ = ["animation"]

#: The legend under every frame: a swatch (fill, or an outline colour) and the key of what it means.
LEGEND = (
    ("fill", _fill(1, 1), "pic.positive"),
    ("fill", _fill(-1, 1), "pic.negative"),
    ("fill", (255, 255, 255), "pic.zero_cell"),
    ("fill", _PAD, "pic.padding"),
    ("box", _MARK, "pic.this_step"),
    ("box", _KEPT, "pic.kept"),
)
SIZE = 13  # the font's size in pixels: titles, numbers and the legend
LINE = 18  # one line of text


def _draw(draw, font, arr, title, *, x0, y0, cell, mark=None, texts=None, vmax=None, box=None):
    """One grid at (x0, y0) with a title above; marked cells get a thick orange border."""
    arr2 = _as2d(arr)
    vmax = float(np.max(np.abs(arr2))) if vmax is None else vmax
    draw.text((x0, y0), title, fill=(0, 0, 0), font=font)
    y0 += LINE + 2
    small = font.font_variant(size=max(8, min(SIZE, int(cell * 0.5))))
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
            draw.text((x + cell / 2, y + cell / 2), text, fill=(0, 0, 0) if not pad else _GREY, font=small, anchor="mm")
    if mark is not None:
        for (r, c), m in np.ndenumerate(_as2d(mark)):
            if m:
                x, y = x0 + c * cell, y0 + r * cell
                draw.rectangle((x, y, x + cell, y + cell), outline=_MARK, width=3)
    if box is not None:  # (r0, c0, r1, c1) in cells: the part kept after the crop
        r0, c0, r1, c1 = box
        draw.rectangle((x0 + c0 * cell, y0 + r0 * cell, x0 + c1 * cell, y0 + r1 * cell), outline=_KEPT, width=3)
    return max(x0 + arr2.shape[1] * cell, x0 + draw.textlength(title, font=font))


def _legend(draw, font, t, x0, y0, width):
    """The swatches and what they mean, wrapped to ``width``; returns the height used."""
    x, y = x0, y0
    for kind, colour, key in LEGEND:
        text = t(key)
        w = 14 + 6 + draw.textlength(text, font=font) + 16
        if x > x0 and x + w > x0 + width:
            x, y = x0, y + LINE
        if kind == "fill":
            draw.rectangle((x, y + 2, x + 14, y + 16), fill=colour, outline=(160, 160, 160))
        else:
            draw.rectangle((x, y + 2, x + 14, y + 16), fill=(255, 255, 255), outline=colour, width=3)
        draw.text((x + 20, y + 9), text, fill=_GREY, font=font, anchor="lm")
        x += w
    return y + LINE - y0


def animation(e, path: str) -> tuple:
    """One frame per stamp (scatter) or per output position (zero insertion), then the result.

    Zero insertion is animated when the explanation shows only that method; scatter otherwise.
    Drawn in matplotlib's DejaVu Sans, labelled in the explanation's language where that font has
    its glyphs (else in English). Returns the frame size in pixels (width, height).
    """
    Image, ImageDraw, ImageFont = _need("PIL.Image"), _need("PIL.ImageDraw"), _need("PIL.ImageFont")
    t = messages(picture_lang(e.lang))
    kinds = [s.kind for s in e.steps]
    kind = "scatter" if "scatter" in kinds else "zero_insert" if "zero_insert" in kinds else None
    if kind is None:
        raise TConvError("--out *.gif animates scatter or zero_insert: use --method all, scatter or zero_insert")
    g, d = e.g, e.step(kind)
    x, y = e.x, (e.layer_output[0] if e.channelled else e.output)
    big = d.full if kind == "scatter" else d.padded
    cols = sum(_as2d(a).shape[1] for a in (x, e.w, big, y))
    cell = int(max(6, min(28, 760 // max(cols, 1))))
    font = ImageFont.truetype(font_path(), SIZE)
    gap = 24
    rows = max(_as2d(a).shape[0] for a in (x, e.w, big, y))
    W = max(16 + cols * cell + 3 * gap + 16, 560)
    probe = ImageDraw.Draw(Image.new("RGB", (W, 10)))
    legend_h = _legend(probe, font, t, 16, 0, W - 32)
    top = 10 + LINE + 8
    H = top + LINE + 2 + rows * cell + 12 + LINE + legend_h + 8
    frames = []
    vmax = float(max(np.max(np.abs(d.full if kind == "scatter" else d.output)), np.max(np.abs(y)), 1))
    a = e.arguments
    caption = (
        f"stride {a['stride']}, padding {a['padding']}, output_padding {a['output_padding']}, dilation {a['dilation']}"
    )

    def frame(title, panels):
        im = Image.new("RGB", (W, H), (255, 255, 255))
        dr = ImageDraw.Draw(im)
        dr.text((16, 10), title, fill=(0, 0, 0), font=font)
        dr.text((16, H - 8 - legend_h - LINE), caption, fill=_GREY, font=font)
        _legend(dr, font, t, 16, H - 8 - legend_h, W - 32)
        x = 16
        for args, kw in panels:
            x = _draw(dr, font, *args, x0=x, y0=top, cell=cell, **kw) + gap
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
                t("pic.anim.scatter", i=idx, v=_label(s.value), at=",".join(map(str, s.at))),
                [
                    ((x, "x"), {"mark": xm}),
                    ((s.stamp, t("pic.stamp")), {"vmax": vmax}),
                    ((s.sum, t("pic.running_sum")), {"mark": touched, "vmax": vmax}),
                ],
            )
        box2 = _crop_box(d.begin, d.end, shape)
        frame(
            t("pic.anim.sum"),
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
                t("pic.anim.zero", o=",".join(map(str, wdw.out)), v=_label(wdw.sum)),
                [
                    ((d.padded, t("pic.padded")), {"mark": mark, "texts": texts}),
                    ((d.flipped, "flip(w)"), {}),
                    ((y, "y"), {"mark": cur, "vmax": vmax, "texts": partial}),
                ],
            )
        frame(
            t("pic.anim.zero_done"),
            [
                ((d.padded, t("pic.padded")), {"texts": texts}),
                ((d.flipped, "flip(w)"), {}),
                ((y, "y"), {"vmax": vmax}),
            ],
        )
    # One shared palette: consecutive frames then differ only where the drawing changed (small files).
    # It is made from the first frame (the marks), the last (all of y's colours) and a strip with a
    # large patch of every colour the legend names, so that none is merged into a neighbour.
    swatches = [_MARK, _KEPT, _PAD, _GREY, *(_fill(v, 10) for v in range(-10, 11))]
    both = Image.new("RGB", (W, 2 * H + 40 * len(swatches)), (255, 255, 255))
    both.paste(frames[0], (0, 0))
    both.paste(frames[-1], (0, H))
    strip = ImageDraw.Draw(both)
    for n, colour in enumerate(swatches):
        strip.rectangle((0, 2 * H + 40 * n, W, 2 * H + 40 * (n + 1)), fill=colour)
    palette = both.quantize(colors=96, dither=Image.Dither.NONE)
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
