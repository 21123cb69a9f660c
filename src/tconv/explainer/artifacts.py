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
from tconv.explainer.i18n import messages
from tconv.explainer.layout import grid, wrap
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


def render(a, lang: str = "en") -> str:
    """The analysis as text, in ``lang``."""
    t = messages(lang)
    lines = [t("art.title"), "  " + t("art.period")]
    for n, ax in enumerate(a["axes"]):
        c = ax["counts"]
        verdict = t("art.verdict." + ("even" if len(set(c)) == 1 else ("holes" if 0 in c else "uneven")))
        counts = " ".join(map(str, c))
        lines.append(
            "  " + t("art.axis", n=n, k=ax["kernel"], s=ax["stride"], d=ax["dilation"], counts=counts, verdict=verdict)
        )
    if len(a["axes"]) > 1:
        lines.append("  " + t("art.tile"))
        reps = tuple(2 if n <= 4 else 1 for n in a["tile"].shape)
        lines += _planes(np.tile(a["tile"], reps), t)
    size = a["input_size"]
    lines.append("  " + t("art.ones", size="x".join([str(size)] * len(a["axes"]))))
    lines += _planes(a["overlap"], t, max_rows=20, max_cols=20)
    if a["even"]:
        lines += ["  " + line for line in t("art.even").splitlines()]
    elif a["holes"]:
        lines += ["  " + line for line in t("art.holes").splitlines()]
    else:
        lines += ["  " + line for line in t("art.uneven", ratio=f"{a['ratio']:.3g}").splitlines()]
        lines += remedies(a["axes"], lang)
    return "\n".join(lines)


def _planes(a: np.ndarray, t, **kw) -> list[str]:
    """A 1-D or 2-D grid; a 3-D array as its first planes along axis 0 (the rest counted)."""
    if a.ndim <= 2:
        return ["    " + line for line in grid(a, **kw)]
    lines = []
    for i in range(min(len(a), 4)):
        lines.append(f"    [{i}]")
        lines += ["    " + line for line in grid(a[i], **kw)]
    if len(a) > 4:
        lines.append("    " + t("art.more_planes", n=len(a) - 4))
    return lines


def divisible_kernels(k: int, s: int) -> list[int]:
    """The kernel sizes nearest ``k`` that the stride ``s`` divides (even overlap with ``d = 1``):
    the one below (if at least ``s``) and the one above.

    >>> divisible_kernels(3, 2), divisible_kernels(5, 3), divisible_kernels(4, 3), divisible_kernels(7, 4)
    ([2, 4], [3, 6], [3, 6], [4, 8])
    """
    below, above = (k // s) * s, -(-k // s) * s
    return sorted({n for n in (below, above) if n >= s})


def remedies(axes, lang: str = "en") -> list[str]:
    """What evens an uneven overlap, for the strides given: a kernel size the stride divides (per
    uneven axis), or a resize by the stride then a convolution.

    >>> print("\\n".join(remedies([{"kernel": 4, "stride": 3, "dilation": 1, "counts": [2, 1, 1]}])))
      remedies: a kernel size divisible by the stride (k=3 or k=6 for s=3), or
      resize then convolve (nearest x3, then a 3-tap conv; Stable Diffusion's
      decoder: nearest x2, then 3x3).
    """
    t = messages(lang)
    advice: dict[tuple[int, int], list[int]] = {}  # (k, s) -> the axes it is uneven on
    for n, ax in enumerate(axes):
        if len(set(ax["counts"])) > 1:
            advice.setdefault((ax["kernel"], ax["stride"]), []).append(n)
    kernels = t("text.list_sep").join(
        t(
            "art.kernels",
            ks=t("art.or").join(f"k={n}" for n in divisible_kernels(k, s)),
            s=s,
            label=t("art.axis_label", axes=",".join(map(str, on))) if len(advice) > 1 else "",
        )
        for (k, s), on in advice.items()
    )
    strides = [ax["stride"] for ax in axes]
    scale = "x" + (str(strides[0]) if len(set(strides)) == 1 else ",".join(map(str, strides)))
    taps = "x".join("3" for _ in axes) + ("-tap" if len(axes) == 1 else "")
    sd = t("art.sd_same") if (scale, taps) == ("x2", "3x3") else t("art.sd_other")
    return wrap(t("art.remedies", kernels=kernels, scale=scale, taps=taps, sd=sd), indent="  ", width=80)
