"""``tconv bench``: tconv against PyTorch's CPU kernel and onnxruntime on layers from real models.

    tconv bench --grid --plot out/grid.png           # the grid of docs/performance.md
    tconv bench --scaling --plot out/scaling.png     # time against batch, channels, size, threads
    tconv bench --torch-layer                        # the torch layer's forward + backward vs torch.nn
    tconv bench --torch-layer --grid --random 20 --seed 7 --threads 1 --cpu-time   # ... on random layers
    tconv bench --quick                              # a smoke run: prints no ratios
    tconv bench --grid --random 20 --seed 7          # 20 layers drawn from realistic ranges
    tconv bench --grid --only s-16x8 --arrangement compiled --arrangement phases   # arrangements side by side
    tconv bench --tune --grid --threads 1 --cpu-time   # every arrangement timed, against the rule's pick

Plots go where ``--plot`` says (``out/`` is ignored by git): the benchmark never writes into the
repository's tracked images.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys

from tconv.bench import harness, layers, report
from tconv.errors import TConvError, needs_torch
from tconv.examples import LAYERS
from tconv.methods import METHODS
from tconv.methods.choice import ARRANGEMENTS

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``tconv bench``."""
    p = sub.add_parser(
        "bench",
        help="time tconv against PyTorch and onnxruntime on layers from real models",
        description="Time tconv.conv_transpose against PyTorch and onnxruntime on layers from real models "
        "(blocks of calls interleaved by library, best of --repeat, the same threads for everyone). "
        "Absolute times vary from machine to machine; compare ratios.",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--grid", action="store_true", help="the grid of 44 layers from real decoders (docs/performance.md)"
    )
    which.add_argument("--scaling", action="store_true", help="time against batch, channels, size and threads")
    p.add_argument(
        "--layer",
        action="append",
        default=[],
        metavar="N,C,H,W:Cout:k:s:p[:op]",
        help="a shape to time instead of the built-in table (repeatable); p may be 'same'",
    )
    p.add_argument("--only", action="append", default=[], metavar="NAME", help="only the layer NAME (repeatable)")
    p.add_argument(
        "--random",
        type=int,
        metavar="N",
        help="with --grid: N layers drawn from realistic ranges instead of the table (the seed is printed)",
    )
    p.add_argument("--seed", type=int, help="the seed of --random (default: a fresh one, printed)")
    p.add_argument(
        "--arrangement",
        action="append",
        default=[],
        choices=ARRANGEMENTS,
        help="also time this arrangement of the NumPy fast path, forced (repeatable; 'compiled' needs numba)",
    )
    p.add_argument(
        "--dtype", default="float32", choices=("float32", "float64", "int64"), help="the arrays' dtype (float32)"
    )
    p.add_argument(
        "--method", default="auto", choices=("auto", "measure", *METHODS), help="tconv method (default auto)"
    )
    p.add_argument(
        "--tune",
        action="store_true",
        help="time every arrangement of the NumPy fast path on the layers instead, and compare the rule's pick "
        "(tconv.methods.choice); no peers",
    )
    p.add_argument("--repeat", type=int, default=5, help="timed rounds; the best block is kept (default 5)")
    p.add_argument("--threads", type=int, default=2, help="threads for every library (default 2)")
    p.add_argument(
        "--cpu-time",
        action="store_true",
        help="time by CPU time (needs --threads 1): robust on a machine others are loading",
    )
    p.add_argument("--quick", action="store_true", help="tiny shapes, one round: a smoke run (prints no ratios)")
    p.add_argument("--no-peers", action="store_true", help="time tconv alone")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--save", metavar="OUT.json", help="also write the results there as JSON, e.g. out/grid.json")
    p.add_argument(
        "--plot", metavar="OUT.png", help="also draw the results there (needs matplotlib), e.g. out/grid.png"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument(
        "--no-numba",
        action="store_true",
        help="time as if numba were not installed (no compiled arrangement): tconv without the fast extra",
    )
    p.add_argument(
        "--torch-layer",
        action="store_true",
        help="time tconv.torch's layer against torch.nn instead (forward + backward; the layers of "
        "tconv.examples.LAYERS by default, or of --grid, --grid --random N, --layer, --only NAME)",
    )
    p.set_defaults(run=run)
    return p


def _layers(args: argparse.Namespace):
    if args.layer:
        chosen = [layers.parse_layer(t) for t in args.layer]
    elif args.quick:
        chosen = layers.QUICK_LAYERS
    elif args.grid and args.random is not None:
        if args.random < 1:
            raise TConvError(f"--random must be at least 1; got {args.random}")
        seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
        print(f"random layers: --random {args.random} --seed {seed}", file=sys.stderr if args.json else sys.stdout)
        table = layers.random_layers(args.random, seed)
        chosen = [l for l in table if not args.only or l.name in args.only]
    else:
        table = layers.GRID if args.grid else LAYERS
        chosen = [l for l in table if not args.only or l.name in args.only]
        if not chosen:
            raise TConvError(f"--only {args.only} matches no layer of {[l.name for l in table]}")
    return chosen


def _output(path: str) -> str:
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    return path


def run(args: argparse.Namespace) -> int:
    """Time the layers and print the table (or JSON); optionally plot, and run the torch-layer benchmark."""
    if args.threads < 1:
        raise TConvError(f"--threads must be at least 1; got {args.threads}")
    if args.cpu_time and args.threads != 1:
        raise TConvError(f"--cpu-time measures one thread: give --threads 1 (got {args.threads})")
    if args.torch_layer and args.scaling:
        raise TConvError("--torch-layer and --scaling are two different benchmarks: give one")
    if args.random is not None and not args.grid:
        raise TConvError("--random draws layers for --grid: give --grid too")
    if args.repeat < 1:
        raise TConvError(f"--repeat must be at least 1; got {args.repeat}")
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        raise TConvError("--plot needs matplotlib (pip install 'tconv[plot]')")
    if args.no_numba:  # this process only: the CLI's own, hiding numba as an absent install would
        if sys.modules.get("numba") is not None:
            raise TConvError("--no-numba: numba is already imported in this process")
        sys.modules["numba"] = None  # type: ignore[assignment]
    repeat = 1 if args.quick else args.repeat
    progress = not args.no_progress and sys.stderr.isatty()
    if args.torch_layer:
        return _torch_layer(args, repeat)
    if args.tune:
        from tconv.bench import tune

        tuned = tune.run(_layers(args), threads=args.threads, repeat=repeat, cpu_time=args.cpu_time, dtype=args.dtype)
        print(tune.table(tuned))
        if args.save:
            with open(_output(args.save), "w") as f:
                json.dump([{"layer": t.name, "rule": t.rule, "seconds": dict(t.times)} for t in tuned], f, indent=1)
        return 0
    if args.scaling:
        from tconv.bench import scaling

        result = scaling.run(repeat=repeat, threads=args.threads, quick=args.quick, progress=progress)
        print(json.dumps(result.to_dict(), indent=2) if args.json else scaling.table(result))
        if args.plot:
            scaling.plot(result, _output(args.plot))
    else:
        result = harness.run(
            _layers(args),
            method=args.method,
            repeat=repeat,
            peers=not args.no_peers,
            threads=args.threads,
            peak_size=256 if args.quick else 2048,
            progress=progress,
            block_s=0.0 if args.quick else 0.05,
            quick=args.quick,
            cpu_time=args.cpu_time,
            arrangements=tuple(args.arrangement),
            dtype=args.dtype,
        )
        print(json.dumps(result.to_dict(), indent=2) if args.json else report.table(result))
        if args.plot:
            report.plot(result, _output(args.plot))
    if args.save:
        with open(_output(args.save), "w") as f:
            json.dump(result.to_dict(), f, indent=1)
    return 0


def _torch_layer(args: argparse.Namespace, repeat: int) -> int:
    if importlib.util.find_spec("torch") is None:
        raise TConvError(needs_torch("--torch-layer"))
    from tconv.bench import torch_layer

    # the same tables as the NumPy bench (LAYERS, --grid, --grid --random N --seed S, --layer), but
    # the torch layer's own tiny shapes for --quick
    chosen = torch_layer.QUICK_LAYERS if args.quick and not args.layer else _layers(args)
    results = torch_layer.run(
        chosen,
        repeat=repeat,
        method=args.method,
        threads=args.threads,
        block_s=0.0 if args.quick else 0.1,
        cpu_time=args.cpu_time,
    )
    print(torch_layer.table(results, repeat, args.threads, quick=args.quick, cpu_time=args.cpu_time))
    return 0
