"""What the two picture renderers share: the colours, the cell labels, and the optional imports."""

from __future__ import annotations

import numpy as np

from tconv.errors import TConvError
from tconv.explainer.text import fmt

__all__ = ["_need", "_fill", "_label", "_as2d", "_BLUE", "_RED", "_MARK", "_PAD", "_GREY"]

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
