"""What the picture renderers share: the colours, the cell labels, the font, the language, the optional imports.

Every picture — the matplotlib diagram and the Pillow animation — is drawn in one real font,
matplotlib's bundled DejaVu Sans (:func:`font_path`): tconv ships no font, and needs none from the
system. Its labels are in the explanation's language when that font has every glyph the language's
picture strings use (:func:`picture_lang`), else in English: DejaVu Sans has no Japanese glyphs, so
Japanese pictures are labelled in English, and the CLI says so.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from tconv.errors import TConvError
from tconv.explainer.i18n import catalogue, check_lang
from tconv.explainer.layout import fmt

__all__ = ["_need", "_fill", "_label", "_as2d", "_BLUE", "_RED", "_MARK", "_PAD", "_GREY", "_KEPT"]
__all__ += ["font_path", "picture_lang", "FONT"]

#: The one font of every picture (shipped with matplotlib).
FONT = "DejaVu Sans"

_BLUE, _RED, _MARK, _PAD, _GREY = (66, 133, 244), (219, 68, 55), (255, 140, 0), (235, 235, 235), (120, 120, 120)
_KEPT = (10, 150, 80)  # the part kept by the crop (the page's green)


def font_path() -> str:
    """The file of matplotlib's DejaVu Sans (the ``plot`` extra brings it)."""
    matplotlib = _need("matplotlib")
    return os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")


@functools.cache
def picture_lang(lang: str) -> str:
    """``lang`` if :data:`FONT` has a glyph for every character of its picture strings, else ``"en"``.

    >>> picture_lang("en"), picture_lang("ja")
    ('en', 'en')
    """
    check_lang(lang)
    if lang == "en":
        return lang
    from matplotlib.ft2font import FT2Font

    charmap = FT2Font(font_path()).get_charmap()
    strings = [v for k, v in catalogue(lang).items() if k.startswith("pic.")]
    texts = [x for v in strings for x in (v.values() if isinstance(v, dict) else [v])]
    return lang if all(ord(c) in charmap for c in "".join(texts)) else "en"


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


def _fill(v, vmax):
    """Cell colour: blue for positive values, red for negative, white for zero (RGB 0..255)."""
    if vmax == 0 or v == 0:
        return (255, 255, 255)
    base = _BLUE if v > 0 else _RED
    t = 0.15 + 0.55 * min(abs(float(v)) / vmax, 1.0)
    return tuple(int(255 + (c - 255) * t) for c in base)


def _label(v) -> str:
    return fmt(v)


def _as2d(a):
    a = np.asarray(a)
    return a.reshape(1, -1) if a.ndim == 1 else a
