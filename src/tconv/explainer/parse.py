"""The explainer's text notation for matrices and per-axis values (the CLI and the web API share it).

Matrices: rows separated by ``;``, values by spaces or commas; one row is 1-D. Per-axis values:
``2`` or ``2,1``. Padding also ``same``, ``valid`` or ``begin:end`` per axis.

>>> parse_matrix("1 2; 3 4").tolist()
[[1, 2], [3, 4]]
>>> parse_per_axis("2,1", "--stride")
(2, 1)
>>> parse_padding("1:0,0:1")
((1, 0), (0, 1))
"""

from __future__ import annotations

import math
import re

import numpy as np

from tconv.errors import TConvError

__all__ = ["parse_matrix", "parse_per_axis", "parse_padding", "MAX_ELEMENTS"]

MAX_ELEMENTS = 65536  # input or kernel: beyond this, explaining is not reading any more


def _number(token: str, name: str):
    try:
        return int(token)
    except ValueError:
        pass
    try:
        v = float(token)
    except ValueError:
        raise TConvError(f"{name}: {token!r} is not a number") from None
    if not math.isfinite(v):
        raise TConvError(f"{name}: {token!r} is not a finite number")
    return v


def parse_matrix(text: str, name: str = "matrix") -> np.ndarray:
    """Rows separated by ``;``, values by spaces or commas; one row is a 1-D array.

    Whole numbers give an int64 array (exact results), anything else float64.

    >>> parse_matrix("2 2; 0 2").tolist()
    [[2, 2], [0, 2]]
    >>> parse_matrix("1, 0.5, -3")
    array([ 1. ,  0.5, -3. ])
    >>> parse_matrix("1 2; 3", "--input")
    Traceback (most recent call last):
    tconv.errors.TConvError: --input: ragged matrix: row 2 has 1 value, row 1 has 2 (every row needs the same number)
    """
    rows = [r for r in (row.replace(",", " ").split() for row in str(text).split(";")) if r]
    if not rows:
        raise TConvError(f"{name}: empty matrix {text!r} (write rows separated by ';', values by spaces)")
    for n, row in enumerate(rows[1:], start=2):
        if len(row) != len(rows[0]):
            plural = "value" if len(row) == 1 else "values"
            raise TConvError(
                f"{name}: ragged matrix: row {n} has {len(row)} {plural}, row 1 has {len(rows[0])} "
                "(every row needs the same number)"
            )
    values = [[_number(t, name) for t in row] for row in rows]
    kind = np.int64 if all(isinstance(v, int) for row in values for v in row) else np.float64
    arr = np.array(values, dtype=kind)
    return arr[0] if len(rows) == 1 else arr


def parse_per_axis(text: str, name: str):
    """``"2"`` → ``2``; ``"2,1"`` → ``(2, 1)``, one whole number per axis.

    >>> parse_per_axis("2,1", "--stride")
    (2, 1)
    """
    parts = [p for p in re.split(r"[,\s]+", str(text).strip()) if p]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise TConvError(f"{name}: {text!r} must be a whole number or one per axis, like 2 or 2,1") from None
    if not values:
        raise TConvError(f"{name}: empty value")
    return values[0] if len(values) == 1 else values


def parse_padding(text: str):
    """``same``, ``valid``, ``1``, ``1,2`` (per axis) or ``1:0,0:1`` (``begin:end`` per axis).

    >>> parse_padding("1:0,0:1"), parse_padding("same"), parse_padding("2")
    (((1, 0), (0, 1)), 'same', 2)
    """
    word = str(text).strip().lower()
    if word in ("same", "valid"):
        return word
    if ":" not in word:
        return parse_per_axis(word, "--padding")
    pairs = []
    for part in word.split(","):
        try:
            b, e = (int(v) for v in part.split(":"))
        except ValueError:
            raise TConvError(f"--padding: {part!r} must be begin:end, like 1:0") from None
        pairs.append((b, e))
    return tuple(pairs)
