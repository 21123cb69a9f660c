"""The ``tconv`` command line. With no arguments it explains the learner's example.

Subcommands:

* ``tconv explain``   — one transposed convolution, step by step (the default);
* ``tconv shape``     — output sizes, and which padding gives a wanted size;
* ``tconv artifacts`` — the overlap pattern behind checkerboard artifacts;
* ``tconv bench``     — the benchmark against PyTorch and onnxruntime;
* ``tconv convert``   — the same layer in another framework's spelling;
* ``tconv audit``     — the up-samplers of an ONNX model, and which will paint a checkerboard.

Each subcommand is a module of this package with ``add_parser`` and ``run``.

Every mistake in the arguments ends in one line, ``tconv: error: ...``, and exit status 2.
The renderers are chosen by name: ``--json`` for JSON, ``--out FILE`` by the file's extension
(``.png``/``.svg`` a diagram, ``.gif`` an animation, ``.txt``/``.json`` text).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import IO

from tconv import __version__
from tconv.cli import artifacts, audit, bench, convert, explain, serve, shape, study
from tconv.cli.common import Parser, UsageError
from tconv.errors import TConvError

__all__ = ["main", "parser"]

SUBCOMMANDS = (explain, shape, artifacts, bench, convert, serve, study, audit)


def parser() -> Parser:
    """The ``tconv`` parser, one subparser per module of :data:`SUBCOMMANDS`."""
    p = Parser(
        prog="tconv",
        description="Transposed convolution, visible, exact and fast. Without a subcommand: tconv explain.",
        epilog="Run 'tconv SUBCOMMAND --help' for the options of each.",
    )
    p.add_argument("--version", action="version", version=f"tconv {__version__}")
    sub = p.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=Parser)
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, or 2 for a usage error)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    _utf8_or_replace(sys.stdout)
    try:
        if not args_list or (args_list[0].startswith("-") and args_list[0] not in ("-h", "--help", "--version")):
            args_list = ["explain", *args_list]  # the default subcommand
        if args_list[0] == "explain":
            args_list = explain.glue_matrices(args_list)
        args = parser().parse_args(args_list)
        return int(args.run(args) or 0)
    except (UsageError, TConvError) as exc:
        print(f"tconv: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `tconv | head`: stop quietly, and keep Python from complaining at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # --out into a missing folder, a read-only file, ...
        where = f": {exc.filename}" if exc.filename else ""
        print(f"tconv: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2


def _utf8_or_replace(stream: IO[str]) -> None:
    """Print '×' and 'ᵀ' on any terminal: characters the encoding lacks become '?'."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        try:
            reconfigure(errors="replace")
        except (ValueError, OSError):
            pass


if __name__ == "__main__":
    sys.exit(main())
