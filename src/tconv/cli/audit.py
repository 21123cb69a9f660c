"""``tconv audit``: the up-samplers of an ONNX model, which will paint a checkerboard, and how runtimes read them."""

from __future__ import annotations

import argparse
import importlib.util
import json

from tconv.cli.common import UsageError, output_path

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``tconv audit``."""
    p = sub.add_parser(
        "audit",
        help="find the up-samplers in an ONNX model and show which will paint a checkerboard",
        description="Read an ONNX file and list every up-sampling layer (ConvTranspose, Resize, DepthToSpace): "
        "its geometry, the taps per output phase, and the constant-response imbalance of its own weights "
        "(0: a constant input gives a flat output; near 1: a checkerboard), with advice. ConvTranspose "
        "attributes that runtimes read differently (auto_pad SAME_* with an odd total pad, output_shape with "
        "pads, ...) are listed; --rewrite writes a copy with explicit pads.",
        epilog="Example: tconv audit --write-examples out/audit; tconv audit out/audit/dcgan.onnx; "
        "tconv audit out/audit/same_upper.onnx --rewrite out/audit/same_upper.explicit.onnx. Needs onnx.",
    )
    p.add_argument("model", nargs="?", metavar="MODEL.onnx", help="the ONNX file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--input-shape",
        action="append",
        metavar="N,C,H,W",
        help="the shape of the (first) graph input, for graphs with dynamic sizes; NAME=N,C,H,W for another input "
        "(repeatable)",
    )
    p.add_argument("--rewrite", metavar="OUT.onnx", help="write a copy with explicit pads on every ConvTranspose")
    p.add_argument(
        "--follow",
        choices=("onnxruntime", "spec"),
        default="onnxruntime",
        help="with --rewrite, where readers disagree: keep onnxruntime's reading (default) or the spec's",
    )
    p.add_argument("--write-examples", metavar="DIR", help="write the example models of docs/audit.md into DIR")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Audit the model (and rewrite it, or write the examples), as the options say."""
    if importlib.util.find_spec("onnx") is None:
        raise UsageError("tconv audit needs onnx: pip install 'tconv[onnx]'")
    if args.write_examples:
        from tconv.auditor.examples import write_examples

        for path in write_examples(args.write_examples):
            print(f"tconv: wrote {path}")
        if not args.model:
            return 0
    if not args.model:
        raise UsageError("give MODEL.onnx (or --write-examples DIR)")
    if args.follow != "onnxruntime" and not args.rewrite:
        raise UsageError("--follow applies to --rewrite only")
    from tconv.auditor.onnx_model import audit, parse_shape

    shapes = dict(parse_shape(text) for text in args.input_shape or ())
    result = audit(args.model, input_shapes=shapes or None)
    document = result.to_dict()
    done = None
    if args.rewrite:
        from tconv.auditor.rewrite import rewrite

        done = rewrite(args.model, output_path(args.rewrite), follow=args.follow, input_shapes=shapes or None)
        document["rewrite"] = {"path": args.rewrite, **done.to_dict()}
    if args.json:
        print(json.dumps(document, indent=1))
        return 0
    print(result)
    if done is not None:
        print(
            f"tconv: wrote {args.rewrite} ({len(done.changed)} ConvTranspose node(s) rewritten, following {done.follow})"
        )
        for note in done.notes:
            print(f"  {note}")
    return 0
