"""``python -m tconv.bench.threads``: split calls against shared threads, layer by layer.

Where the caller runs BLAS single-threaded, the NumPy fast path cuts a large call into one part per
thread, each running its own products and col2im (*split*, :func:`tconv.methods.gemm_tiles.split`);
by default BLAS threads the product and tconv splits only col2im's additions (*shared*). This script times both on every layer of the grid
(:data:`tconv.bench.layers.GRID`), in one process: the two alternate, ``repeat`` times, each block
after a pause in which idle threads stop spinning, and the best block of each is kept. It prints
split's gain (shared time over split time) per layer and its range and geometric mean over the
layers outside the ``small`` class (which are too small to be split). Needs ``threadpoolctl``.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from tconv.arguments import transpose_geometry
from tconv.bench.layers import GRID
from tconv.methods import gemm_numpy, gemm_tiles
from tconv.methods.choice import best_time

__all__ = ["measure", "main"]


def measure(layers=GRID, threads: int = 2, rounds: int = 3, pause_s: float = 0.15):
    """``[(layer, shared seconds, split seconds)]`` per call, ``threads`` threads, wall time."""
    from threadpoolctl import threadpool_limits

    from tconv.bench.harness import blas_threads

    rng = np.random.default_rng(0)
    out = []
    with blas_threads(threads):
        for layer in layers:
            x = rng.standard_normal(layer.input_shape, dtype=np.float32)
            w = rng.standard_normal(layer.weight_shape, dtype=np.float32)
            g = transpose_geometry(x.shape, w.shape, layer.stride, layer.padding, layer.output_padding)
            best = {"shared": math.inf, "split": math.inf}
            for _ in range(rounds):
                for how, blas in (("shared", threads), ("split", 1)):
                    with threadpool_limits(blas, user_api="blas"):  # split: the caller's BLAS at one thread
                        time.sleep(pause_s)
                        seconds = best_time(
                            lambda x=x, w=w, g=g: gemm_numpy.conv_transpose(x, w, g), 3, 0.05, time.perf_counter
                        )
                    best[how] = min(best[how], seconds)
            out.append((layer, best["shared"], best["split"]))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tconv.bench.threads", description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="threads for BLAS and tconv (default 2)")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of shared and split (default 3)")
    args = parser.parse_args(argv)
    if not gemm_tiles._blas_controllers():
        print("threadpoolctl is not installed (or NumPy's BLAS threads cannot be read): calls are never split")
        return 1
    rows = measure(threads=args.threads, rounds=args.rounds)
    print(f"{'layer':16} {'class':10} {'shared ms':>10} {'split ms':>9} {'gain':>5}")
    for layer, shared, split in rows:
        print(f"{layer.name:16} {layer.note:10} {shared * 1e3:10.2f} {split * 1e3:9.2f} {shared / split:5.2f}")
    gains = [shared / split for layer, shared, split in rows if layer.note != "small"]
    mean = math.exp(sum(map(math.log, gains)) / len(gains))
    print(
        f"{len(gains)} layers outside 'small': gain {min(gains):.2f}–{max(gains):.2f}, geometric mean {mean:.2f}, "
        f"≥ 1.05 on {sum(g >= 1.05 for g in gains)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
