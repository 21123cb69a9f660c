"""What every ``tconv`` subcommand shares: one error class, one parser class, one error style.

A mistake on the command line is :class:`UsageError` (or the core's ``TConvError``); ``tconv``'s
``main`` prints either as one line, ``tconv: error: ...``, and returns exit status 2 — never a
traceback. Subcommands are modules of :mod:`tconv.cli`, each with ``add_parser(subparsers)`` and
``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import pathlib
from typing import IO, NoReturn

__all__ = ["UsageError", "Parser", "use_colour_option", "output_path", "add_lang_option"]


class UsageError(Exception):
    """A command-line mistake; ``main`` prints it as one line and returns 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (no usage dump) and never exits from inside a library call."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def use_colour_option(choice: str, stream: IO[str]) -> bool:
    """``--color auto|always|never``: ``auto`` colours a terminal unless ``NO_COLOR`` is set."""
    from tconv.explainer.text import use_colour

    return choice == "always" or (choice == "auto" and use_colour(stream))


def output_path(path: str) -> str:
    """``--out PATH``: its folder is made if missing (``--out out/steps.png`` works on a fresh clone)."""
    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    return path


def _lang(value: str) -> str:
    from tconv.explainer.i18n import LANGS

    if value not in LANGS:
        raise argparse.ArgumentTypeError(f"{value!r} is not a language of the explainer (one of: {', '.join(LANGS)})")
    return value


def add_lang_option(p: argparse.ArgumentParser) -> None:
    """``--lang en|ja``: the language of the text and pictures (English by default; one line for any other)."""
    p.add_argument("--lang", type=_lang, default="en", metavar="LANG", help="language: en (default) or ja (日本語)")
