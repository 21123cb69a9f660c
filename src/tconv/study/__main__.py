"""``python -m tconv.study [--quick] [--json] [--out DIR] [--epochs N] [--seed S]``."""

from __future__ import annotations

import argparse
import sys

from .cli import add_arguments, run


class _Parser(argparse.ArgumentParser):
    """A mistake in the arguments is one line, ``tconv study: error: ...``, and exit status 2."""

    def error(self, message: str):
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the study."""
    parser = _Parser(prog="tconv study")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
