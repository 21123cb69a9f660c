"""``tconv convert``: the same transposed convolution in another framework's spelling."""

from __future__ import annotations

import argparse
import json

from tconv.arguments import per_axis
from tconv.errors import TConvError
from tconv.explainer.parse import parse_padding, parse_per_axis
from tconv.interop.convert import (
    FRAMEWORKS,
    Canonical,
    convert,
    from_jax,
    from_keras,
    from_mlx,
    from_onnx,
    from_tconv,
    from_tensorflow,
    from_torch,
)

__all__ = ["add_parser", "run"]


def _read(args) -> Canonical:
    """The canonical geometry from the ``--from`` framework's spelling on the command line."""
    k = parse_per_axis(args.kernel, "--kernel")
    k = (k,) if isinstance(k, int) else k
    n = len(k)
    s = parse_per_axis(args.stride, "--stride") if args.stride else 1
    d = parse_per_axis(args.dilation, "--dilation") if args.dilation else 1
    op = parse_per_axis(args.output_padding, "--output-padding") if args.output_padding else None
    pad = args.padding
    inp = parse_per_axis(args.input, "--input") if args.input else None
    src = args.source
    if src in ("torch", "mlx"):
        reader = from_torch if src == "torch" else from_mlx
        return reader(k, s, parse_per_axis(pad, "--padding") if pad else 0, op or 0, d, input=inp)
    if src == "tconv":
        return from_tconv(k, s, parse_padding(pad) if pad else 0, op or 0, d, input=inp)
    if src == "keras":
        return from_keras(k, s, pad or "valid", op, d, input=inp)
    if src == "tensorflow":
        if not (args.output_shape and inp):
            raise TConvError("--from tensorflow (tf.nn.conv_transpose) needs --input and --output-shape")
        return from_tensorflow(k, s, pad or "valid", parse_per_axis(args.output_shape, "--output-shape"), inp, d)
    if src == "jax":
        return from_jax(k, s, (pad or "VALID") if not pad or ":" not in pad else parse_padding(pad), d, input=inp)
    if src == "onnx":
        auto = pad.upper() if pad and pad.upper() in ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID") else "NOTSET"
        pads = (
            list(per_axis("padding", parse_per_axis(pad, "--padding"), n, 0)) * 2
            if pad and auto == "NOTSET" and "," not in pad
            else None
        )
        if pad and auto == "NOTSET" and "," in pad:
            pads = list(parse_per_axis(pad, "--padding"))
            pads = pads * 2 if len(pads) == n else pads  # one value per axis: the same at both ends
        out = (
            list(per_axis("output-shape", parse_per_axis(args.output_shape, "--output-shape"), n, 1))
            if args.output_shape
            else None
        )
        return from_onnx(
            k, input=inp, strides=s, pads=pads, auto_pad=auto, output_padding=op, output_shape=out, dilations=d
        )
    raise TConvError(f"--from {src!r} must be one of {FRAMEWORKS}")


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``tconv convert``."""
    p = sub.add_parser(
        "convert",
        help="convert transposed-convolution layers between frameworks",
        description="Print the arguments that give the same transposed convolution in another framework "
        "(and the crop still needed where that framework cannot say it).",
        epilog="--padding by framework: torch/mlx ints (1 or 1,2); tconv ints, begin:end per axis, same or valid; "
        "keras/tensorflow same or valid; jax SAME, VALID or lo:hi per axis; onnx SAME_UPPER, SAME_LOWER, VALID "
        "or pads (b1,..,e1,.. or one per axis). Example: tconv convert --from keras --to torch --kernel 3 "
        "--stride 2 --padding same --input 8",
    )
    p.add_argument("--from", dest="source", required=True, choices=FRAMEWORKS)
    p.add_argument("--to", dest="target", required=True, choices=FRAMEWORKS)
    p.add_argument("--kernel", required=True, help="kernel size per axis: 3 or 3,3")
    p.add_argument("--stride")
    p.add_argument("--padding")
    p.add_argument("--dilation")
    p.add_argument("--output-padding")
    p.add_argument("--output-shape", help="onnx output_shape / tf.nn.conv_transpose spatial output size")
    p.add_argument("--input", help="spatial input size, to print output sizes")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Print the arguments that give the same layer in ``--to``'s spelling."""
    c = _read(args)
    out = convert(c, args.target)
    if args.json:
        doc = {
            "from": args.source,
            "canonical": {
                "kernel": c.kernel,
                "stride": c.stride,
                "dilation": c.dilation,
                "begin": c.begin,
                "end": c.end,
            },
            "to": out.to_dict(),
        }
        if c.input:
            doc["output_size"] = c.output_size(c.input)
        print(json.dumps(doc, default=list))
    else:
        print(c)
        print(out)
    return 0
