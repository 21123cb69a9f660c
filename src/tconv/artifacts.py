"""``tconv artifacts``: the overlap pattern behind checkerboard artifacts (Odena, Dumoulin & Olah 2016).

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

import json
import math

import numpy as np

from .explain import parse_per_axis
from .polyphase import phase_taps

__all__ = ["overlap_counts", "analyse", "add_parser", "run"]


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
    from .api import conv_transpose

    kernel, stride, dilation = (tuple(v) for v in (kernel, stride, dilation))
    axes = [{"kernel": k, "stride": s, "dilation": d, "counts": overlap_counts(k, s, d)}
            for k, s, d in zip(kernel, stride, dilation)]
    tile = np.ones((), dtype=np.int64)
    for ax in axes:
        tile = np.multiply.outer(tile, np.array(ax["counts"], dtype=np.int64))
    ndim = len(kernel)
    ones_x = np.ones((1, 1, *(size,) * ndim), dtype=np.int64)
    ones_w = np.ones((1, 1, *kernel), dtype=np.int64)
    overlap = conv_transpose(ones_x, ones_w, stride=stride, dilation=dilation)[0, 0]
    even = len(set(tile.ravel().tolist())) == 1
    return {"axes": axes, "tile": tile, "even": even, "holes": bool((tile == 0).any()),
            "ratio": (tile.max() / tile.min()) if tile.min() > 0 else math.inf, "input_size": size, "overlap": overlap}


def add_parser(sub):
    p = sub.add_parser(
        "artifacts",
        help="the overlap pattern behind checkerboard artifacts",
        description="How many kernel taps land on each output position of a transposed convolution: even, or "
        "uneven (a checkerboard; Odena, Dumoulin & Olah, Distill 2016). Per axis and in 2-D.",
        epilog="Example: tconv artifacts --kernel 3 --stride 2;  tconv artifacts --kernel 4 --stride 2 --out k4s2.png",
    )
    p.add_argument("--kernel", "-k", required=True, metavar="K", help="kernel size: 3, or one per axis 3,4")
    p.add_argument("--stride", "-s", required=True, metavar="S")
    p.add_argument("--dilation", "-d", default="1", metavar="D")
    p.add_argument("--ndim", type=int, choices=(1, 2, 3), help="number of axes (default: 2, or as many as given)")
    p.add_argument("--size", type=int, default=5, metavar="N", help="input size of the overlap map (default 5)")
    p.add_argument("--out", "-o", metavar="FILE", help="write a picture: .png or .svg")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)
    return p


def run(args) -> int:
    from .cli import UsageError
    from .errors import TConvError

    given = {k: parse_per_axis(getattr(args, k), "--" + k) for k in ("kernel", "stride", "dilation")}
    lengths = {len(v) for v in given.values() if isinstance(v, tuple)}
    if len(lengths) > 1 or (lengths and args.ndim and lengths != {args.ndim}):
        raise UsageError(f"--kernel, --stride and --dilation give different numbers of axes: {given}")
    ndim = lengths.pop() if lengths else (args.ndim or 2)
    values = {k: v if isinstance(v, tuple) else (v,) * ndim for k, v in given.items()}
    for k, v in values.items():
        if any(n < 1 for n in v):
            raise TConvError(f"--{k} {getattr(args, k)} must be positive")
    if not 1 <= args.size <= 64:
        raise UsageError(f"--size {args.size} must be between 1 and 64")
    a = analyse(values["kernel"], values["stride"], values["dilation"], args.size)
    if args.out:
        from .render_image import save_artifacts

        save_artifacts(a, args.out)
        print(f"tconv: wrote {args.out}")
        return 0
    if args.json:
        print(json.dumps({"axes": a["axes"], "tile": a["tile"].tolist(), "even": a["even"], "holes": a["holes"],
                          "overlap": a["overlap"].tolist()}))
        return 0
    print(render(a))
    return 0


def render(a) -> str:
    """The analysis as text."""
    from .render_text import grid

    lines = ["tconv artifacts: taps landing on each output position", "  (in the interior, one period per axis)"]
    for n, ax in enumerate(a["axes"]):
        c = ax["counts"]
        verdict = "even" if len(set(c)) == 1 else ("holes" if 0 in c else "uneven")
        lines.append(f"  axis {n}: k={ax['kernel']} s={ax['stride']} d={ax['dilation']}: "
                     f"{' '.join(map(str, c))} (repeating every {ax['stride']}) -> {verdict}")
    if len(a["axes"]) > 1:
        lines.append("  interior tile (product of the axes' counts), repeated:")
        reps = tuple(2 if n <= 4 else 1 for n in a["tile"].shape)
        lines += ["    " + line for line in grid(np.tile(a["tile"], reps))]
    size = a["input_size"]
    lines.append(f"  conv_transpose of ones ({'x'.join([str(size)] * len(a['axes']))}) with a kernel of ones, "
                 "borders included:")
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
