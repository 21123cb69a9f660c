"""The ``tconv`` command line. With no arguments it explains the learner's example.

Subcommands:

* ``tconv explain``   — one transposed convolution, step by step (the default);
* ``tconv shape``     — output sizes, and which padding gives a wanted size;
* ``tconv artifacts`` — the overlap pattern behind checkerboard artifacts;
* ``tconv bench``, ``tconv convert`` — the benchmark and framework conversion (their own modules,
  imported only when asked for).

Every mistake in the arguments ends in one line, ``tconv: error: ...``, and exit status 2.
The renderers are chosen by name: ``--json`` for JSON, ``--out FILE`` by the file's extension
(``.png``/``.svg`` a diagram, ``.gif`` an animation, ``.txt``/``.json`` text).
"""

from __future__ import annotations

import argparse
import sys

from .errors import TConvError

__all__ = ["main"]

#: Subcommands implemented in other modules: name -> (module, one-line help).
EXTERNAL = {
    "bench": ("tconv.bench", "time the five methods (and torch, onnxruntime) on layers from real models"),
    "convert": ("tconv.convert", "convert transposed-convolution layers between frameworks"),
}
COMMANDS = ("explain", "shape", "artifacts", *EXTERNAL)


class UsageError(Exception):
    """A command-line mistake; ``main`` prints it as one line and returns 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (no usage dump) and never exits from inside a library call."""

    def error(self, message):
        raise UsageError(f"{message} (see {self.prog} --help)")


def _explain_parser(sub):
    from .examples import EXAMPLES

    p = sub.add_parser(
        "explain",
        help="show one transposed convolution step by step (the default)",
        description="Show a transposed convolution step by step: the output size, scatter, zero insertion, "
        "the matrix C, GEMM, polyphase, the result checked against every method and PyTorch, and why it "
        "is the adjoint of convolution, not its inverse.",
        epilog="Matrices: rows separated by ';', values by spaces or commas; a single row is 1-D. "
        "Per-axis values: 2 or 2,1. Padding also: same, valid, or begin:end per axis (1:0,0:1). "
        'Example: tconv explain --input "1 2; 3 4" --kernel "1 2 3; 4 5 6; 7 8 9" --stride 2 --padding 1',
    )
    p.add_argument("--example", choices=sorted(EXAMPLES), help="a built-in example (default: learner)")
    p.add_argument("--input", "-x", metavar="MATRIX", help='the input, e.g. "2 2; 0 2"')
    p.add_argument("--kernel", "-w", metavar="MATRIX", help='the kernel, e.g. "1 0; 0 1"')
    p.add_argument("--stride", "-s", metavar="S", help="stride (default 1)")
    p.add_argument("--padding", "-p", metavar="P", help="padding (default 0): crops the output")
    p.add_argument("--output-padding", metavar="OP", help="output_padding (default 0)")
    p.add_argument("--dilation", "-d", metavar="D", help="dilation (default 1)")
    p.add_argument("--method", "-m", default="all", help="all (default) or one of scatter, zero_insert, matrix, gemm, polyphase")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--out", "-o", metavar="FILE", help="write to FILE: .png/.svg diagram, .gif animation, .txt, .json")
    p.add_argument("--no-torch", action="store_true", help="do not compare with PyTorch")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colour (default auto: a terminal without NO_COLOR)")
    return p


def _parser():
    from . import __version__

    parser = _Parser(
        prog="tconv",
        description="Transposed convolution, visible, exact and fast. Without a subcommand: tconv explain.",
        epilog="Run 'tconv SUBCOMMAND --help' for the options of each.",
    )
    parser.add_argument("--version", action="version", version=f"tconv {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=_Parser)
    _explain_parser(sub)
    from . import artifacts, shape

    shape.add_parser(sub)
    artifacts.add_parser(sub)
    for name, (_, help_) in EXTERNAL.items():
        sub.add_parser(name, help=help_, add_help=False)
    return parser


def _external(name: str, argv) -> int:
    """Run ``tconv bench``/``tconv convert``: their modules are imported only now."""
    import importlib

    module = EXTERNAL[name][0]
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:  # the module exists but something it imports does not
            raise UsageError(f"tconv {name} needs {exc.name}, which is not installed") from None
        raise UsageError(f"tconv {name} is not available in this installation ({module} is missing)") from None
    return int(mod.main(list(argv)) or 0)


def _colour(choice: str, stream) -> bool:
    from .render_text import use_colour

    return choice == "always" or (choice == "auto" and use_colour(stream))


def _run_explain(args) -> int:
    from .examples import EXAMPLES, LEARNER
    from .explain import explain, parse_matrix, parse_padding, parse_per_axis
    from .render_text import render

    if (args.input is None) != (args.kernel is None):
        raise UsageError("give both --input and --kernel, or neither (for the built-in example)")
    if args.input is not None and args.example:
        raise UsageError("give --example or --input/--kernel, not both")
    ex = EXAMPLES[args.example] if args.example else LEARNER
    if args.input is not None:
        x, w, name, note = parse_matrix(args.input, "--input"), parse_matrix(args.kernel, "--kernel"), "", ""
        defaults = {"stride": 1, "padding": 0, "output_padding": 0, "dilation": 1}
    else:
        import numpy as np

        x, w, name, note = np.array(ex.input), np.array(ex.kernel), ex.name, ex.note
        defaults = {"stride": ex.stride, "padding": ex.padding, "output_padding": ex.output_padding, "dilation": ex.dilation}
    kw = dict(
        stride=parse_per_axis(args.stride, "--stride") if args.stride is not None else defaults["stride"],
        padding=parse_padding(args.padding) if args.padding is not None else defaults["padding"],
        output_padding=parse_per_axis(args.output_padding, "--output-padding") if args.output_padding is not None else defaults["output_padding"],
        dilation=parse_per_axis(args.dilation, "--dilation") if args.dilation is not None else defaults["dilation"],
    )
    e = explain(x, w, **kw, method=args.method, torch_check=not args.no_torch, name=name, note=note)
    out = args.out
    suffix = out.rsplit(".", 1)[-1].lower() if out and "." in out else ""
    if out and suffix in ("png", "svg", "gif"):
        from .render_image import save

        save(e, out)
        print(f"tconv: wrote {out}")
        return 0
    if out and suffix not in ("txt", "json", "text"):
        raise UsageError(f"--out {out}: unknown file type; use .png, .svg, .gif, .txt or .json")
    as_json = args.json or suffix == "json"
    if out:
        text = e.to_json(indent=1) if as_json else render(e, colour=False)
        with open(out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        print(f"tconv: wrote {out}")
        return 0
    print(e.to_json() if as_json else render(e, colour=_colour(args.color, sys.stdout)))
    return 0


def main(argv=None) -> int:
    """Run the command line; returns the exit status (0, or 2 for a usage error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _utf8_or_replace(sys.stdout)
    try:
        if argv and argv[0] in EXTERNAL:
            return _external(argv[0], argv[1:])
        if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
            argv = ["explain", *argv]  # the default subcommand
        if argv[0] == "explain":
            argv = _glue_matrices(argv)
        args = _parser().parse_args(argv)
        if args.command == "explain":
            return _run_explain(args)
        return args.run(args)
    except (UsageError, TConvError) as exc:
        print(f"tconv: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `tconv | head`: stop quietly, and keep Python from complaining at exit
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # --out into a missing folder, a read-only file, ...
        where = f": {exc.filename}" if exc.filename else ""
        print(f"tconv: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2


def _glue_matrices(argv):
    """``-x "-1 2; 3 4"`` → ``--input=-1 2; 3 4``: argparse would read a matrix that starts with a
    minus sign as an option. (Only the matrices: ``-1`` alone is already understood as a number.)

    >>> _glue_matrices(["explain", "-x", "-1 2", "--kernel", "1", "-s", "2"])
    ['explain', '--input=-1 2', '--kernel=1', '-s', '2']
    """
    names = {"-x": "--input", "--input": "--input", "-w": "--kernel", "--kernel": "--kernel"}
    out, i = [], 0
    while i < len(argv):
        if argv[i] in names and i + 1 < len(argv):
            out.append(f"{names[argv[i]]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def _utf8_or_replace(stream) -> None:
    """Print '×' and 'ᵀ' on any terminal: characters the encoding lacks become '?'."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        try:
            reconfigure(errors="replace")
        except (ValueError, OSError):
            pass


if __name__ == "__main__":
    sys.exit(main())
