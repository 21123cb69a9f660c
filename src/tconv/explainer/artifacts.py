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
import textwrap

import numpy as np

from tconv.api import conv_transpose
from tconv.explainer.text import grid
from tconv.methods.polyphase import phase_taps

__all__ = ["overlap_counts", "analyse", "render", "divisible_kernels", "remedies"]


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
        lines += _planes(np.tile(a["tile"], reps))
    size = a["input_size"]
    lines.append(
        f"  conv_transpose of ones ({'x'.join([str(size)] * len(a['axes']))}) with a kernel of ones, borders included:"
    )
    lines += _planes(a["overlap"], max_rows=20, max_cols=20)
    if a["even"]:
        lines.append("  even overlap: every interior position gets the same number of taps,")
        lines.append("  so the overlap makes no checkerboard.")
    elif a["holes"]:
        lines.append("  holes: no tap ever lands on some positions (k_eff < s, or s and d share a")
        lines.append("  factor): they stay 0.")
    else:
        lines.append(f"  uneven overlap (max/min = {a['ratio']:.3g}): a checkerboard pattern even on a constant")
        lines.append("  input (Odena, Dumoulin & Olah 2016).")
        lines += remedies(a["axes"])
    return "\n".join(lines)


def _planes(a: np.ndarray, **kw) -> list[str]:
    """A 1-D or 2-D grid; a 3-D array as its first planes along axis 0 (the rest counted)."""
    if a.ndim <= 2:
        return ["    " + line for line in grid(a, **kw)]
    lines = []
    for i in range(min(len(a), 4)):
        lines.append(f"    [{i}]")
        lines += ["    " + line for line in grid(a[i], **kw)]
    if len(a) > 4:
        lines.append(f"    … {len(a) - 4} more planes along axis 0")
    return lines


def divisible_kernels(k: int, s: int) -> list[int]:
    """The kernel sizes nearest ``k`` that the stride ``s`` divides (even overlap with ``d = 1``):
    the one below (if at least ``s``) and the one above.

    >>> divisible_kernels(3, 2), divisible_kernels(5, 3), divisible_kernels(4, 3), divisible_kernels(7, 4)
    ([2, 4], [3, 6], [3, 6], [4, 8])
    """
    below, above = (k // s) * s, -(-k // s) * s
    return sorted({n for n in (below, above) if n >= s})


def remedies(axes) -> list[str]:
    """What evens an uneven overlap, for the strides given: a kernel size the stride divides (per
    uneven axis), or a resize by the stride then a convolution.

    >>> print("\\n".join(remedies([{"kernel": 4, "stride": 3, "dilation": 1, "counts": [2, 1, 1]}])))
      remedies: a kernel size divisible by the stride (k=3 or k=6 for s=3), or
      resize then convolve (nearest x3, then a 3-tap conv; Stable Diffusion's
      decoder: nearest x2, then 3x3).
    """
    advice: dict[tuple[int, int], list[int]] = {}  # (k, s) -> the axes it is uneven on
    for n, ax in enumerate(axes):
        if len(set(ax["counts"])) > 1:
            advice.setdefault((ax["kernel"], ax["stride"]), []).append(n)
    label = (lambda on: f" (axis {','.join(map(str, on))})") if len(advice) > 1 else (lambda on: "")
    kernels = "; ".join(
        f"{' or '.join(f'k={n}' for n in divisible_kernels(k, s))} for s={s}{label(on)}"
        for (k, s), on in advice.items()
    )
    strides = [ax["stride"] for ax in axes]
    scale = "x" + (str(strides[0]) if len(set(strides)) == 1 else ",".join(map(str, strides)))
    taps = "x".join("3" for _ in axes) + ("-tap" if len(axes) == 1 else "")
    stable_diffusion = (
        ", as Stable Diffusion's decoder"
        if (scale, taps) == ("x2", "3x3")
        else "; Stable Diffusion's decoder: nearest x2, then 3x3"
    )
    text = (
        f"remedies: a kernel size divisible by the stride ({kernels}), or resize then convolve (nearest "
        f"{scale}, then a {taps} conv{stable_diffusion})."
    )
    return ["  " + line for line in textwrap.wrap(text, 78)]
