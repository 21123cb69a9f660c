"""The overlap pattern behind checkerboard artifacts (Odena, Dumoulin & Olah 2016).

In the interior of a transposed convolution's output, position ``f`` is reached by the taps ``t``
with ``t·d ≡ f (mod s)`` — one phase of the polyphase method (:func:`tconv.polyphase.phase_taps`).
Per axis the count repeats with period ``s``; in 2-D it is the product of the axes' counts. When the
counts differ from phase to phase, the same weights are summed a different number of times at
neighbouring pixels: a checkerboard, even for a constant input. ``k`` divisible by ``s`` (with
``d = 1``) makes it even.

>>> overlap_counts(k=3, s=2, d=1)
[2, 1]
>>> overlap_counts(k=4, s=2, d=1)
[2, 2]
>>> overlap_counts(k=2, s=2, d=2)   # dilation 2, stride 2: odd positions get no tap at all
[2, 0]
"""

from __future__ import annotations

import math

import numpy as np

from tconv.api import conv_transpose
from tconv.explainer.text import grid
from tconv.methods.polyphase import phase_taps

__all__ = ["overlap_counts", "analyse", "render"]


def overlap_counts(k: int, s: int, d: int = 1) -> list[int]:
    """Taps landing on interior output positions ``f ≡ r (mod s)``, for ``r = 0 .. s−1``."""
    return [phase_taps(k, s, d, r)[2] for r in range(s)]


def analyse(kernel, stride, dilation, size: int = 5) -> dict:
    """Per-axis counts, the interior tile (their outer product), and the whole overlap map.

    The map is computed by the core, not by the formula: ``conv_transpose(ones, ones)`` counts the
    taps landing on each output position, borders included.

    >>> a = analyse((3, 3), (2, 2), (1, 1))
    >>> a["tile"].tolist(), a["even"]
    ([[4, 2], [2, 1]], False)
    """
    kernel, stride, dilation = (tuple(v) for v in (kernel, stride, dilation))
    axes = [
        {"kernel": k, "stride": s, "dilation": d, "counts": overlap_counts(k, s, d)}
        for k, s, d in zip(kernel, stride, dilation)
    ]
    tile = np.ones((), dtype=np.int64)
    for ax in axes:
        tile = np.multiply.outer(tile, np.array(ax["counts"], dtype=np.int64))
    ndim = len(kernel)
    ones_x = np.ones((1, 1, *(size,) * ndim), dtype=np.int64)
    ones_w = np.ones((1, 1, *kernel), dtype=np.int64)
    overlap = conv_transpose(ones_x, ones_w, stride=stride, dilation=dilation)[0, 0]
    even = len(set(tile.ravel().tolist())) == 1
    return {
        "axes": axes,
        "tile": tile,
        "even": even,
        "holes": bool((tile == 0).any()),
        "ratio": (tile.max() / tile.min()) if tile.min() > 0 else math.inf,
        "input_size": size,
        "overlap": overlap,
    }


def render(a) -> str:
    """The analysis as text."""
    lines = ["tconv artifacts: taps landing on each output position", "  (in the interior, one period per axis)"]
    for n, ax in enumerate(a["axes"]):
        c = ax["counts"]
        verdict = "even" if len(set(c)) == 1 else ("holes" if 0 in c else "uneven")
        lines.append(
            f"  axis {n}: k={ax['kernel']} s={ax['stride']} d={ax['dilation']}: "
            f"{' '.join(map(str, c))} (repeating every {ax['stride']}) -> {verdict}"
        )
    if len(a["axes"]) > 1:
        lines.append("  interior tile (product of the axes' counts), repeated:")
        reps = tuple(2 if n <= 4 else 1 for n in a["tile"].shape)
        lines += ["    " + line for line in grid(np.tile(a["tile"], reps))]
    size = a["input_size"]
    lines.append(
        f"  conv_transpose of ones ({'x'.join([str(size)] * len(a['axes']))}) with a kernel of ones, borders included:"
    )
    lines += ["    " + line for line in grid(a["overlap"], max_rows=20, max_cols=20)]
    if a["even"]:
        lines.append("  even overlap: every interior position gets the same number of taps,")
        lines.append("  so the overlap makes no checkerboard.")
    elif a["holes"]:
        lines.append("  holes: no tap ever lands on some positions (k_eff < s, or s and d share a")
        lines.append("  factor): they stay 0.")
    else:
        lines.append(f"  uneven overlap (max/min = {a['ratio']:.3g}): a checkerboard pattern even on a constant")
        lines.append("  input (Odena, Dumoulin & Olah 2016).")
        lines.append("  remedies: a kernel size divisible by the stride (k=4 for s=2), or resize")
        lines.append("  then convolve (nearest x2, then a 3x3 conv, as Stable Diffusion's decoder).")
    return "\n".join(lines)
