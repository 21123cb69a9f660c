"""``tconv study``: train one small DDPM per up-sampler and compare their checkerboards.

``add_arguments(parser)`` and ``run(args)`` are what the ``tconv`` command line registers;
``python -m tconv.study`` runs the same on its own. torch, scikit-learn (and matplotlib for
``--out``) are imported only inside :func:`run`, after checking they are installed.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import pathlib
import sys

__all__ = ["INSTALL_HINT", "add_arguments", "run"]

INSTALL_HINT = "pip install 'tconv[study]'"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer ≥ 0, got {text!r}") from None
    if not 0 <= value < 2**31:
        raise argparse.ArgumentTypeError(f"must be an integer in 0 .. 2**31 − 1, got {value}")
    return value


def _out_dir(text: str) -> pathlib.Path:
    path = pathlib.Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} exists and is not a directory")
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``tconv study``."""
    parser.description = (
        "Train a small DDPM (a U-Net predicting the noise) on scikit-learn's digits at 16x16, once per "
        "up-sampler (transposed conv k4s2 and k3s2, nearest resize + conv, sub-pixel conv with ICNR), "
        "and measure each one's checkerboard energy before and after training and its sample quality."
    )
    parser.epilog = "Example: tconv study --quick;  tconv study --out study/ --json > study.json. Needs " + INSTALL_HINT
    parser.add_argument(
        "--quick", action="store_true", help="a narrow network on 512 digits for 3 epochs (under a minute)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--out", type=_out_dir, metavar="DIR", help="write the pictures (PNG) into DIR")
    parser.add_argument("--epochs", type=_positive_int, metavar="N", help="training epochs (default: 40, --quick 3)")
    parser.add_argument("--seed", type=_seed, default=0, metavar="S", help="seed of everything random (default 0)")
    parser.add_argument(
        "--upsamplers",
        metavar="A,B",
        help="which up-samplers, comma-separated (default: the four of docs/study.md; also "
        "transposed-k4s2-balanced, transposed-k3s2-balanced)",
    )
    parser.add_argument(
        "--threads",
        type=_positive_int,
        default=1,
        metavar="T",
        help="torch CPU threads (default 1: the study's small networks gained nothing from a second thread on an "
        "idle machine, and ran 3x slower with two on cores other jobs were using)",
    )


def _missing(modules: list[str]) -> list[str]:
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def _table(report) -> str:
    width = max(16, *(len(r.upsampler) for r in report.results))
    rows = [
        f"{'upsampler':<{width}} {'checkerboard_init':>17} {'checkerboard_trained':>20} {'quality':>8} "
        f"{'train_seconds':>13} {'phase imbalance (max)':>22}"
    ]
    for r in report.results:
        imbalance = f"{max(r.phase_imbalance_init):.3f} -> {max(r.phase_imbalance_trained):.3f}"
        rows.append(
            f"{r.upsampler:<{width}} {r.checkerboard_init:>17.4f} {r.checkerboard_trained:>20.4f} "
            f"{r.quality:>8.3f} {r.train_seconds:>13.1f} {imbalance:>22}"
        )
    ref = report.reference
    rows.append(f"{'real digits':<{width}} {'':>17} {ref.checkerboard_real:>20.4f} {ref.quality_real:>8.3f}")
    rows.append(f"white noise's checkerboard energy: {ref.checkerboard_white_noise:.4f}")
    return "\n".join(rows)


def run(args: argparse.Namespace) -> int:
    """Run the study as ``args`` say; print a table (or JSON with ``--json``); return the exit status."""
    needed = ["torch", "sklearn"] + (["matplotlib"] if args.out is not None else [])
    missing = _missing(needed)
    if missing:
        print(f"tconv study: needs {', '.join(missing)}: {INSTALL_HINT}", file=sys.stderr)
        return 2
    import torch

    from .experiment import FULL, QUICK, run_study
    from .model import BALANCED, UPSAMPLERS

    config = QUICK if args.quick else FULL
    config = dataclasses.replace(config, seed=args.seed, epochs=args.epochs or config.epochs)
    if args.upsamplers:
        names = tuple(name.strip() for name in args.upsamplers.split(",") if name.strip())
        if not names or any(name not in UPSAMPLERS + BALANCED for name in names):
            known = ", ".join(UPSAMPLERS + BALANCED)
            print(f"tconv study: error: --upsamplers {args.upsamplers!r}: each must be one of {known}", file=sys.stderr)
            return 2
        config = dataclasses.replace(config, upsamplers=names)
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        report, runs, real = run_study(config)
        if args.out is not None:
            from .figures import write_figures

            write_figures(args.out, report, runs, real)
    finally:  # called in-process (tests, notebooks), leave torch's threads as they were
        torch.set_num_threads(threads)
    print(json.dumps(dataclasses.asdict(report), indent=2) if args.json else _table(report))
    return 0
