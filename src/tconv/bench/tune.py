"""``tconv bench --tune``: every arrangement of the NumPy fast path timed, against the rule's pick.

For each layer, each arrangement that applies (:func:`tconv.methods.choice.candidates`) is timed
(:func:`tconv.methods.choice.best_time`: the best of ``repeat`` blocks, the threads as given —
with ``--threads 1 --cpu-time``, CPU time, which hardly moves with the machine's load). The table
says which arrangement was fastest, what the rule of :func:`tconv.methods.choice.rule` picks, and
how much slower its pick ran; the summary counts the layers where the rule's pick was the fastest
(within 3 %, the timing's noise) and gives the geometric mean and the worst of the loss. This is the
evidence for the rule: rerun it on your machine to check it there.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from tconv.arguments import transpose_geometry
from tconv.examples import Layer
from tconv.methods import choice, gemm_numpy

__all__ = ["Tuned", "run", "table"]


@dataclass(frozen=True)
class Tuned:
    """One layer: the rule's pick and every arrangement's seconds per call, fastest first."""

    name: str
    rule: str
    times: tuple[tuple[str, float], ...]

    @property
    def loss(self) -> float:
        """The rule's pick's time over the fastest arrangement's."""
        return dict(self.times)[self.rule] / self.times[0][1]


def run(layers: list[Layer], *, threads: int, repeat: int, cpu_time: bool, dtype: str = "float32") -> list[Tuned]:
    """Time every arrangement of every layer (BLAS and tconv at ``threads`` threads)."""
    from tconv.bench.harness import blas_threads
    from tconv.resources import get_num_threads, set_num_threads

    rng, clock = np.random.default_rng(0), time.process_time if cpu_time else time.perf_counter
    out, before = [], get_num_threads()
    set_num_threads(threads)
    try:
        with blas_threads(threads):
            for layer in layers:
                x = rng.standard_normal(layer.input_shape).astype(dtype)
                w = rng.standard_normal(layer.weight_shape).astype(dtype)
                g = transpose_geometry(x.shape, w.shape, layer.stride, layer.padding, layer.output_padding)
                times = {
                    a: choice.best_time(
                        lambda x=x, w=w, g=g, a=a: gemm_numpy.conv_transpose(x, w, g, arrangement=a),
                        repeat,
                        0.03,
                        clock,
                    )
                    for a in choice.candidates(g, dtype)
                }
                ranked = tuple(sorted(times.items(), key=lambda kv: kv[1]))
                out.append(Tuned(layer.name, choice.rule(g, dtype).arrangement, ranked))
    finally:
        set_num_threads(before)
    return out


def table(results: list[Tuned]) -> str:
    """The per-layer table and the summary."""
    lines = [f"{'layer':34s} {'rule':15s} {'fastest':15s} {'rule/fastest':>12s}  times (ms)"]
    for r in results:
        times = " ".join(f"{a}={1e3 * t:.3g}" for a, t in r.times)
        lines.append(f"{r.name:34s} {r.rule:15s} {r.times[0][0]:15s} {r.loss:12.2f}  {times}")
    losses = [r.loss for r in results]
    hits = sum(loss <= 1.03 for loss in losses)
    geo = math.exp(sum(map(math.log, losses)) / len(losses))
    lines.append(
        f"the rule's pick is the fastest (within 3 %) on {hits} of {len(results)} layers; "
        f"its time over the fastest: geometric mean {geo:.3f}, worst {max(losses):.2f}"
    )
    return "\n".join(lines)
