"""The ``tconv`` command line. With no arguments it explains the learner's example."""

from __future__ import annotations

import sys

import numpy as np

from .api import conv_transpose

EXAMPLE_INPUT = np.array([[2, 2], [0, 2]])
EXAMPLE_KERNEL = np.array([[1, 0], [0, 1]])


def main(argv=None) -> int:
    x, w = EXAMPLE_INPUT[None, None], EXAMPLE_KERNEL[None, None]
    print("input x =", EXAMPLE_INPUT.tolist(), " kernel w =", EXAMPLE_KERNEL.tolist(), " stride 1, padding 0")
    for method in ("scatter", "zero_insert"):
        print(f"{method:12s}", conv_transpose(x, w, method=method)[0, 0].tolist())
    return 0


if __name__ == "__main__":
    sys.exit(main())
