"""``tconv explain``: one transposed convolution, step by step (the default subcommand)."""

from __future__ import annotations

import argparse
import sys

from tconv.cli.common import UsageError, add_lang_option, output_path, use_colour_option
from tconv.examples import EXAMPLES
from tconv.explainer.compute import explain
from tconv.explainer.i18n import messages
from tconv.explainer.parse import OPTIONS, explain_arguments
from tconv.explainer.text import render

__all__ = ["add_parser", "run", "glue_matrices"]


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``tconv explain``."""
    p = sub.add_parser(
        "explain",
        help="show one transposed convolution step by step (the default)",
        description="Show a transposed convolution step by step: the output size, scatter, zero insertion, "
        "the matrix C, GEMM, polyphase, the result checked against every method (and PyTorch, with --torch), "
        "and why it is the adjoint of convolution, not its inverse.",
        epilog="Matrices: rows separated by ';', values by spaces or commas; a single row is 1-D. "
        "Channels: blocks separated by '|' (the kernel's blocks in PyTorch's weight order: for each input "
        "channel its C_out/groups kernels). Per-axis values: 2 or 2,1. Padding also: same, valid, or "
        "begin:end per axis (1:0,0:1). "
        'Example: tconv explain --input "1 2; 3 4" --kernel "1 2 3; 4 5 6; 7 8 9" --stride 2 --padding 1',
    )
    p.add_argument("--example", choices=sorted(EXAMPLES), help="a built-in example (default: learner)")
    p.add_argument("--input", "-x", metavar="MATRIX", help='the input, e.g. "2 2; 0 2"')
    p.add_argument("--kernel", "-w", metavar="MATRIX", help='the kernel, e.g. "1 0; 0 1"')
    p.add_argument("--stride", "-s", metavar="S", help="stride (default 1)")
    p.add_argument("--padding", "-p", metavar="P", help="padding (default 0): crops the output")
    p.add_argument("--output-padding", metavar="OP", help="output_padding (default 0)")
    p.add_argument("--dilation", "-d", metavar="D", help="dilation (default 1)")
    p.add_argument("--groups", "-g", metavar="G", help="groups, for channels given with '|' (default 1)")
    p.add_argument(
        "--method", "-m", default=None, help="all (default) or one of scatter, zero_insert, matrix, gemm, polyphase"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--out", "-o", metavar="FILE", help="write to FILE: .png/.svg diagram, .gif animation, .txt, .json")
    torch = p.add_mutually_exclusive_group()
    torch.add_argument(
        "--torch",
        action="store_true",
        help="also run PyTorch's conv_transpose on the same numbers and compare (imports torch: seconds)",
    )
    torch.add_argument(
        "--no-torch", action="store_true", help="do not run PyTorch (the default; kept for existing scripts)"
    )
    add_lang_option(p)
    p.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour (default auto: a terminal without NO_COLOR)",
    )
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Explain the arguments' transposed convolution, as text, JSON or a picture."""
    a = explain_arguments({name: getattr(args, name) for name in OPTIONS}, cli=True)
    e = explain(**a, torch_check=args.torch, lang=args.lang)
    t = messages(args.lang)
    out = args.out
    suffix = out.rsplit(".", 1)[-1].lower() if out and "." in out else ""
    if out and suffix in ("png", "svg", "gif"):
        from tconv.explainer.image import save  # matplotlib/Pillow: only when a picture is asked for
        from tconv.explainer.palette import picture_lang

        save(e, output_path(out))
        if picture_lang(args.lang) != args.lang:
            print(t("cli.pictures_english"), file=sys.stderr)
        print(t("cli.wrote", path=out))
        return 0
    if out and suffix not in ("txt", "json", "text"):
        raise UsageError(f"--out {out}: unknown file type; use .png, .svg, .gif, .txt or .json")
    as_json = args.json or suffix == "json"
    if out:
        text = e.to_json(indent=1) if as_json else render(e, colour=False)
        with open(output_path(out), "w", encoding="utf-8") as f:
            f.write(text + "\n")
        print(t("cli.wrote", path=out))
        return 0
    if as_json:
        print(e.to_json())
        return 0
    print(render(e, colour=use_colour_option(args.color, sys.stdout)))
    if e.name == "learner":  # the first thing a new user sees: say where to go next
        print("\n" + t("cli.next"))
    return 0


def glue_matrices(argv: list[str]) -> list[str]:
    """``-x "-1 2; 3 4"`` → ``--input=-1 2; 3 4``: argparse would read a matrix that starts with a
    minus sign as an option. (Only the matrices: ``-1`` alone is already understood as a number.)

    >>> glue_matrices(["explain", "-x", "-1 2", "--kernel", "1", "-s", "2"])
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
