"""``python -m tconv.bench.calibrate``: time every arrangement of the NumPy fast path, fit the cost model.

Every layer of the grid (:data:`tconv.bench.layers.GRID`) is computed by every arrangement that
applies to it (:func:`tconv.methods.cost.possible`), on **one thread** and timed in **CPU time**
(``time.process_time``, best of ``repeat`` blocks): on a shared machine CPU time of a single thread
hardly moves with the load, where wall time of two threads moved by 2–50× in this project's runs.
The model's constants (:data:`tconv.methods.cost.COEFFICIENTS`) are then the non-negative
least-squares fit of the relative error, and the script prints them, the fit's error, and how often
the model picks the fastest arrangement (and how much slower its pick is where it does not).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from tconv.arguments import transpose_geometry
from tconv.bench.layers import GRID
from tconv.methods import cost, gemm_numpy

__all__ = ["measure", "fit", "main"]


def best_block(call, repeat: int, block_s: float = 0.03, clock=time.process_time) -> float:
    """Seconds per call of the best of ``repeat`` blocks of about ``block_s`` seconds (CPU time by default)."""
    call()
    t0 = clock()
    call()
    one = max(clock() - t0, 1e-6)
    calls = max(1, min(200, round(block_s / one)))
    best = math.inf
    for _ in range(repeat):
        t0 = clock()
        for _ in range(calls):
            call()
        best = min(best, (clock() - t0) / calls)
    return best


def measure(layers=GRID, repeat: int = 3):
    """``[(layer name, geometry, {arrangement: seconds})]``, one thread, CPU time."""
    from tconv.bench.harness import blas_threads

    rng = np.random.default_rng(0)
    out = []
    with blas_threads(1):
        for layer in layers:
            x = rng.standard_normal(layer.input_shape, dtype=np.float32)
            w = rng.standard_normal(layer.weight_shape, dtype=np.float32)
            g = transpose_geometry(x.shape, w.shape, layer.stride, layer.padding, layer.output_padding)
            times = {
                a: best_block(lambda a=a, x=x, w=w, g=g: gemm_numpy.conv_transpose(x, w, g, arrangement=a), repeat)
                for a in cost.possible(g)
            }
            out.append((layer.name, g, times))
    return out


def fit(measured) -> tuple[float, ...]:
    """Non-negative least squares of the relative error: solve, drop the most negative constant, repeat."""
    rows, target = [], []
    for _, g, times in measured:
        for a, t in times.items():
            rows.append(np.array(cost.features(g, a).vector()) / t)
            target.append(1.0)
    a_mat, b = np.array(rows), np.array(target)
    scale = np.abs(a_mat).max(axis=0)
    scale[scale == 0] = 1
    active = list(range(a_mat.shape[1]))
    while True:
        sol, *_ = np.linalg.lstsq(a_mat[:, active] / scale[active], b, rcond=None)
        if (sol >= 0).all():
            break
        active.pop(int(np.argmin(sol)))
    coef = np.zeros(a_mat.shape[1])
    coef[active] = sol / scale[active]
    return tuple(float(c) for c in coef)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tconv.bench.calibrate", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    measured = measure(repeat=args.repeat)
    coef = fit(measured)
    print("COEFFICIENTS = (" + ", ".join(f"{c:.2g}" for c in coef) + ")")
    hits, losses, errors = 0, [], []
    for name, g, times in measured:
        pred = {a: cost.features(g, a).seconds(coef) for a in times}
        pick, best = min(pred, key=pred.get), min(times, key=times.get)
        hits += pick == best
        losses.append(times[pick] / times[best])
        errors += [abs(pred[a] / times[a] - 1) for a in times]
        cells = " ".join(f"{a}={1e3 * t:.2f}/{1e3 * pred[a]:.2f}" for a, t in times.items())
        print(f"{name:16s} pick {pick:15s} best {best:15s} {cells}")
    print(
        f"model picks the fastest on {hits}/{len(measured)} layers; its pick is at worst {max(losses):.2f}x "
        f"the fastest (geometric mean {math.exp(np.mean(np.log(losses))):.3f}); median relative error "
        f"{np.median(errors):.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
