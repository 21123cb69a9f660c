"""``tconv bench``: tconv against PyTorch's CPU kernel and onnxruntime on layers from real models."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys

from tconv.bench import harness
from tconv.bench.harness import QUICK_LAYERS, parse_layer, plot, table
from tconv.errors import TConvError
from tconv.examples import LAYERS
from tconv.methods import METHODS

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``tconv bench``."""
    p = sub.add_parser(
        "bench",
        help="time tconv against PyTorch and onnxruntime on layers from real models",
        description="Time tconv.conv_transpose against PyTorch and onnxruntime on layers from real models "
        "(interleaved rounds, best of --repeat). Absolute times vary from machine to machine; compare ratios.",
    )
    p.add_argument(
        "--layer",
        action="append",
        default=[],
        metavar="N,C,H,W:Cout:k:s:p[:op]",
        help="a shape to time instead of the built-in table (repeatable); p may be 'same'",
    )
    p.add_argument(
        "--only", action="append", default=[], metavar="NAME", help="only the built-in layer NAME (repeatable)"
    )
    p.add_argument("--method", default="auto", choices=("auto", *METHODS), help="tconv method (default auto)")
    p.add_argument("--repeat", type=int, default=5, help="timed rounds; the best is kept (default 5)")
    p.add_argument("--quick", action="store_true", help="tiny shapes, one round: a smoke test")
    p.add_argument("--no-peers", action="store_true", help="time tconv alone")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--plot", metavar="OUT.png", help="also draw GFLOP/s per layer (needs matplotlib)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument(
        "--torch-layer",
        action="store_true",
        help="also run tconv.torch's module benchmark (forward + backward against torch.nn)",
    )
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Time the layers and print the table (or JSON); optionally plot, and run the torch-layer benchmark."""
    if args.quick:
        layers = [parse_layer(t) for t in args.layer] or QUICK_LAYERS
        repeat, peak_size = 1, 256
    else:
        layers = [parse_layer(t) for t in args.layer] or [l for l in LAYERS if not args.only or l.name in args.only]
        repeat, peak_size = max(1, args.repeat), 2048
    if not layers:
        raise TConvError(f"--only {args.only} matches no layer of {[l.name for l in LAYERS]}")
    report = harness.run(
        layers,
        method=args.method,
        repeat=repeat,
        peers=not args.no_peers,
        peak_size=peak_size,
        progress=not args.no_progress and sys.stderr.isatty(),
        settle=0.0 if args.quick else 0.05,
    )
    print(json.dumps(report, indent=2) if args.json else table(report))
    if args.plot:
        plot(report, args.plot)
    if args.torch_layer:
        if importlib.util.find_spec("tconv.torch.bench") is None:
            print("tconv bench: --torch-layer: tconv.torch.bench is not available", file=sys.stderr)
        else:
            from tconv.torch import bench as torch_bench

            forwarded = ["--quick"] if args.quick else ["--repeat", str(repeat)]
            for name in args.only:
                forwarded += ["--layer", name]
            torch_bench.main(forwarded)
    return 0
