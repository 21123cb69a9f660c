"""``tconv shape``: the output size of a transposed convolution, and the paddings that give a wanted one."""

from __future__ import annotations

import argparse
import dataclasses
import json

from tconv.arguments import transpose_geometry
from tconv.cli.common import UsageError, add_lang_option
from tconv.explainer.i18n import messages
from tconv.explainer.parse import parse_padding, parse_per_axis
from tconv.explainer.shape import tconv_pairs, torch_solutions
from tconv.explainer.steps import shape_step
from tconv.geometry import effective_kernel, full_size

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``tconv shape``."""
    p = sub.add_parser(
        "shape",
        help="output size for given arguments, or the paddings that give a wanted size",
        description="The output size of a transposed convolution, per axis, with the formula; with --output-size, "
        "the PyTorch (padding, output_padding) and tconv (begin, end) paddings that give that size.",
        epilog="Example: tconv shape --input 64 --kernel 4 --stride 2 --padding 1;  "
        "tconv shape --input 64 --kernel 3 --stride 2 --output-size 128",
    )
    p.add_argument("--input", "-i", required=True, metavar="N", help="input size, one per axis: 64 or 64,32")
    p.add_argument("--kernel", "-k", required=True, metavar="K", help="kernel size, one per axis")
    p.add_argument("--stride", "-s", default="1", metavar="S")
    p.add_argument("--padding", "-p", default="0", metavar="P", help="int, per axis, begin:end, same or valid")
    p.add_argument("--output-padding", default="0", metavar="OP")
    p.add_argument("--dilation", "-d", default="1", metavar="D")
    p.add_argument("--output-size", "--want", metavar="O", help="the size you want: list the paddings that give it")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_lang_option(p)
    p.set_defaults(run=run)
    return p


def _axes(value, ndim: int):
    return tuple(value) if isinstance(value, tuple) else (value,) * ndim


def run(args: argparse.Namespace) -> int:
    """Print the output size, or with ``--output-size`` the paddings that give it."""
    sizes = {
        k: parse_per_axis(getattr(args, k), "--" + k.replace("_", "-"))
        for k in ("input", "kernel", "stride", "dilation")
    }
    ndim = max(len(v) if isinstance(v, tuple) else 1 for v in sizes.values())
    lengths = {f"--{name} {getattr(args, name)}": len(v) for name, v in sizes.items() if isinstance(v, tuple)}
    if len(set(lengths.values())) > 1:
        raise UsageError(
            f"{' and '.join(lengths)} give different numbers of axes ({', '.join(map(str, lengths.values()))})"
        )
    i, k = _axes(sizes["input"], ndim), _axes(sizes["kernel"], ndim)
    if any(n < 1 for n in (*i, *k)):
        raise UsageError(f"--input {args.input} and --kernel {args.kernel} must be positive sizes")
    stride, dilation = sizes["stride"], sizes["dilation"]
    if args.output_size is not None:
        return _reverse(
            args, i, k, _axes(stride, ndim), _axes(dilation, ndim), parse_per_axis(args.output_size, "--output-size")
        )
    padding, op = parse_padding(args.padding), parse_per_axis(args.output_padding, "--output-padding")
    g = transpose_geometry((1, 1, *i), (1, 1, *k), stride, padding, op, 1, dilation)
    step = shape_step(g, padding, op, args.lang)
    if args.json:
        print(json.dumps({"output_size": list(g.large), "axes": [dataclasses.asdict(ax) for ax in step.axes]}))
        return 0
    t = messages(args.lang)
    print(
        t(
            "shape.header",
            i=",".join(map(str, i)),
            k=",".join(map(str, k)),
            s=args.stride,
            p=args.padding,
            op=args.output_padding,
            d=args.dilation,
        )
    )
    print(f"  {step.axes[0].formula}")
    for a, ax in enumerate(step.axes):
        label = "   " + t("shape.axis", a=a) if ndim > 1 else ""
        print(f"    = {ax.numbers}{label}")
        tail = t("shape.tail_end", e=ax.end) if ax.end >= 0 else t("shape.tail_zeros", z=-ax.end)
        op = t("shape.then_op", op=ax.output_padding) if ax.output_padding else ""
        print("      " + t("shape.full", F=ax.full, b=ax.begin, tail=tail, op=op))
    print("  " + t("shape.size", size=" x ".join(map(str, g.large))))
    return 0


def _reverse(args, i, k, stride, dilation, want) -> int:
    want = _axes(want, len(i))
    if len(want) != len(i) or any(n < 1 for n in want):
        raise UsageError(f"--output-size {args.output_size} must give one positive size per axis ({len(i)})")
    result = []
    for a, (n, kk, s, d, o) in enumerate(zip(i, k, stride, dilation, want)):
        full = full_size(n, s, effective_kernel(kk, d))
        torch = torch_solutions(full, o, s, d)
        pairs = tconv_pairs(full, o)
        extra = o - full if 0 < o - full < max(s, d) else None  # reachable by output_padding alone
        same = o == n * s
        result.append(
            {
                "axis": a,
                "input": n,
                "kernel": kk,
                "stride": s,
                "dilation": d,
                "full": full,
                "want": o,
                "torch": [list(t) for t in torch],
                "tconv_pairs": [list(p) for p in pairs],
                "output_padding_only": extra,
                "same": same,
            }
        )
    if args.json:
        print(json.dumps({"axes": result}))
        return 0
    t = messages(args.lang)
    print(t("shape.which", o=args.output_size))
    for r in result:
        label = t("shape.axis_prefix", a=r["axis"]) if len(result) > 1 else ""
        s, d = r["stride"], r["dilation"]
        print(
            "  " + t("shape.reverse_axis", label=label, i=r["input"], k=r["kernel"], s=s, d=d, F=r["full"], o=r["want"])
        )
        if r["torch"]:
            sols = ", ".join(f"padding={p}, output_padding={op}" for p, op in r["torch"])
            print("    " + t("shape.torch", solutions=sols))
        else:
            print("    " + t("shape.torch_none", m=max(s, d), most=r["full"] + max(s, d) - 1))
        if r["tconv_pairs"]:
            pairs = r["tconv_pairs"]
            shown = ", ".join(f"{b}:{e}" for b, e in (pairs if len(pairs) <= 6 else pairs[:3] + pairs[-2:]))
            if len(pairs) > 6:
                shown = shown.replace(f"{pairs[2][0]}:{pairs[2][1]}, ", f"{pairs[2][0]}:{pairs[2][1]}, …, ", 1)
            print("    " + t("shape.pairs", d=r["full"] - r["want"], shown=shown))
        elif r["output_padding_only"] is not None:
            print("    " + t("shape.op_only", op=r["output_padding_only"]))
        else:
            print("    " + t("shape.none"))
        if r["same"]:
            print("    " + t("shape.same", o=r["want"]))
    return 0
