"""``tconv artifacts``: the overlap pattern behind checkerboard artifacts."""

from __future__ import annotations

import argparse
import json
import sys

from tconv.cli.common import UsageError, add_lang_option, output_path
from tconv.errors import TConvError
from tconv.explainer.artifacts import analyse, render
from tconv.explainer.i18n import messages
from tconv.explainer.parse import parse_per_axis

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``tconv artifacts``."""
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
    add_lang_option(p)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Print (or draw) the overlap counts of the arguments' kernel and stride."""
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
    if args.out and ndim > 2:
        raise UsageError(f"--out {args.out}: the artifacts picture draws 1 or 2 axes; for 3, print the text (no --out)")
    if args.out:
        from tconv.explainer.image import save_artifacts
        from tconv.explainer.palette import picture_lang

        save_artifacts(a, output_path(args.out), args.lang)
        if picture_lang(args.lang) != args.lang:
            print(messages(args.lang)("cli.pictures_english"), file=sys.stderr)
        print(messages(args.lang)("cli.wrote", path=args.out))
        return 0
    if args.json:
        print(
            json.dumps(
                {
                    "axes": a["axes"],
                    "tile": a["tile"].tolist(),
                    "even": a["even"],
                    "holes": a["holes"],
                    "overlap": a["overlap"].tolist(),
                }
            )
        )
        return 0
    print(render(a, args.lang))
    return 0
