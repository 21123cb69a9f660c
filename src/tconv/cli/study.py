"""``tconv study``: small diffusion models trained with each up-sampler, and their checkerboards.

The options and the run are :mod:`tconv.study.cli`'s; torch and scikit-learn are imported only when
it runs (without them it says, in one line, how to install them).
"""

from __future__ import annotations

import argparse

from tconv.study import cli as study_cli

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``tconv study``."""
    p = sub.add_parser(
        "study",
        help="train small diffusion models with each up-sampler and measure their checkerboard artifacts",
    )
    study_cli.add_arguments(p)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the study (see :func:`tconv.study.cli.run`)."""
    return study_cli.run(args)
