"""``tconv bench --torch-layer``: tconv's torch layer against torch.nn's, forward + backward, side by side.

For each layer (by default :data:`tconv.examples.LAYERS`; ``tconv bench --torch-layer`` also takes
``--grid``, ``--grid --random N --seed S`` and ``--layer``, the tables of :mod:`tconv.bench.layers`) a ``torch.nn.ConvTranspose{n}d`` and
tconv's layer with the same weights (:meth:`~tconv.torch.ConvTranspose2d.from_torch`) run one
training step's worth of work — ``y = layer(x)``, then ``y.backward(gy)`` for the gradients of input,
weight and bias. Both run once untimed (warm-up and a check that they agree), then are timed in
blocks interleaved by layer and contestant, as the core benchmark does (:mod:`tconv.bench.harness`):
one untimed step, then a block of steps; the best block is kept, and the median over the best is
the noise. Layers whose forward exceeds ``max_gmac`` multiply-adds run with a smaller batch (said in
the note). torch is imported only inside these functions, so ``tconv.bench`` stays importable
without it.

Columns: torch.nn's milliseconds per step, and tconv's time over torch.nn's for the forward, the
backward and both; the last line is the geometric mean of the ratios and the worst total.
"""

from __future__ import annotations

import dataclasses
import math
import platform
import statistics
import time
from dataclasses import dataclass, field

from tconv.arguments import transpose_geometry
from tconv.examples import Layer

__all__ = ["QUICK_LAYERS", "TorchLayerResult", "run", "table"]

#: Tiny shapes for ``--quick``: one of each kind, well under a second each.
QUICK_LAYERS = [
    Layer("quick-k4s2", (2, 16, 8, 8), 16, 4, 2, 1),
    Layer("quick-k2s2", (1, 16, 8, 8), 8, 2, 2, 0),
    Layer("quick-1d", (1, 16, 20), 8, 16, 8, 4),
    Layer("quick-same", (4, 16, 8), 16, 5, 2, "same"),
    Layer("quick-3d", (1, 8, 4, 4, 4), 4, 2, 2, 0),
    Layer("quick-op", (2, 8, 8, 8), 8, 3, 2, 1, 1),
]


@dataclass
class TorchLayerResult:
    """One layer: torch.nn's best step and tconv's ratios (forward, backward, total), with noise."""

    layer: Layer
    note: str
    torch_ms: float
    forward: float
    backward: float
    total: float
    noise: float
    samples: dict = field(default_factory=dict, repr=False)


def _layers(layer: Layer, method: str):
    """(torch.nn layer, tconv layer, note) with the same weights.

    torch.nn has no "same"; it gets padding ``b`` at both ends and ``output_padding = b − e`` when
    that is legal, which is the same layer. Otherwise (WaveGAN's k25 s4: b = 10, e = 11) it gets
    padding ``b`` and no output_padding: the same window, one element longer at the end."""
    import torch

    from tconv.interop.frameworks import torch_arguments
    from tconv.torch.modules import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d

    g = transpose_geometry(layer.input_shape, layer.weight_shape, layer.stride, layer.padding, layer.output_padding)
    t = torch_arguments(g)
    note = "" if t.exact else f"torch.nn: padding={t.padding[0]}, output size {t.torch_size} for {t.size}"
    nn_cls = getattr(torch.nn, f"ConvTranspose{g.ndim}d")
    theirs = nn_cls(layer.input_shape[1], layer.out_channels, layer.kernel, layer.stride, t.padding, t.output_padding)
    ours = {1: ConvTranspose1d, 2: ConvTranspose2d, 3: ConvTranspose3d}[g.ndim].from_torch(theirs, method=method)
    ours.padding, ours.output_padding = layer.padding, (layer.output_padding,) * g.ndim
    return theirs, ours, note


def _step(module, x, gy, clock=time.perf_counter) -> tuple[float, float]:
    """Seconds for the forward and for the backward of one step."""
    module.zero_grad(set_to_none=True)
    x.grad = None
    t0 = clock()
    y = module(x)
    t1 = clock()
    y.backward(gy)
    return t1 - t0, clock() - t1


def _block(module, x, gy, steps: int, clock) -> tuple[float, float]:
    """Forward and backward seconds per step over a block, after one untimed step."""
    _step(module, x, gy)
    f = b = 0.0
    for _ in range(steps):
        df, db = _step(module, x, gy, clock)
        f, b = f + df, b + db
    return f / steps, b / steps


def run(
    layers,
    *,
    repeat: int = 5,
    max_gmac: float = 20.0,
    method: str = "auto",
    threads: int = 2,
    block_s: float = 0.1,
    cpu_time: bool = False,
) -> list[TorchLayerResult]:
    """Time every layer; return one :class:`TorchLayerResult` each (``cpu_time``: one thread's CPU
    time, as in :func:`tconv.bench.harness.run`).

    Raises
    ------
    AssertionError
        tconv's layer and torch.nn's disagree (relative difference over 1e-4).
    ValueError
        ``cpu_time`` with more than one thread.
    """
    import torch

    if cpu_time and threads != 1:
        raise ValueError(f"CPU time measures one thread only; got threads={threads}")
    clock = time.process_time if cpu_time else time.perf_counter

    torch.manual_seed(0)
    torch.set_num_threads(threads)
    cases = []
    for layer in layers:
        macs = math.prod(layer.input_shape) * layer.out_channels * layer.kernel ** (len(layer.input_shape) - 2)
        n = layer.input_shape[0]
        batch = max(1, min(n, int(n * max_gmac * 1e9 // macs)))
        note = f"batch {n} -> {batch}" if batch < n else ""
        layer = dataclasses.replace(layer, input_shape=(batch, *layer.input_shape[1:]))
        theirs, ours, spelling = _layers(layer, method)
        note = "; ".join(part for part in (note, spelling) if part)
        x = torch.randn(layer.input_shape, requires_grad=True)
        with torch.no_grad():
            y_t, y_o = theirs(x), ours(x)
        common = (..., *(slice(0, size) for size in y_o.shape[2:]))  # the window both compute
        err = ((y_t[common] - y_o).abs().max() / y_t[common].abs().max()).item()
        if err > 1e-4:
            raise AssertionError(f"{layer.name}: tconv and torch.nn differ by {err:.2e} (relative)")
        gy = torch.randn_like(y_t)
        contestants = {"torch": (theirs, gy), "tconv": (ours, gy[common].contiguous())}
        steps = {}
        for name, (module, g) in contestants.items():
            first = sum(_step(module, x, g))  # warm-up
            steps[name] = max(1, min(100, round(block_s / max(first, 1e-6))))
        cases.append((layer, note, x, contestants, steps, {name: [] for name in contestants}))
    for r in range(repeat):
        for _, _, x, contestants, steps, samples in cases:
            names = list(contestants)[r % 2 :] + list(contestants)[: r % 2]  # alternate who goes first
            for name in names:
                module, g = contestants[name]
                samples[name].append(_block(module, x, g, steps[name], clock))
    results = []
    for layer, note, _, _, _, samples in cases:
        best = {name: min(s, key=sum) for name, s in samples.items()}
        totals = {name: [sum(v) for v in s] for name, s in samples.items()}
        noise = max(statistics.median(t) / min(t) - 1 for t in totals.values())
        t, o = best["torch"], best["tconv"]
        results.append(
            TorchLayerResult(
                layer, note, sum(t) * 1e3, o[0] / t[0], o[1] / t[1], sum(o) / sum(t), noise, samples=samples
            )
        )
    return results


def table(
    results: list[TorchLayerResult], repeat: int, threads: int, quick: bool = False, cpu_time: bool = False
) -> str:
    """The results as a Markdown table and the geometric means (a smoke run prints no ratios)."""
    import torch

    clock = "; CPU time" if cpu_time else ""
    lines = [
        f"tconv.torch vs torch.nn, forward + backward (grads of input, weight, bias), float32, CPU, "
        f"{threads} threads, torch {torch.__version__}, {platform.machine()}; best of {repeat} interleaved blocks"
        f"{clock}",
        "",
        "| layer | input | torch.nn ms | forward × | backward × | total × | noise | note |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        shape = "×".join(map(str, r.layer.input_shape))
        ratios = "— | — | —" if quick else f"{r.forward:.2f} | {r.backward:.2f} | {r.total:.2f}"
        lines.append(f"| {r.layer.name} | {shape} | {r.torch_ms:.1f} | {ratios} | {100 * r.noise:.0f} % | {r.note} |")
    if quick:
        lines.append("\nSMOKE RUN (--quick): tiny shapes — the times above are not results; no ratios.")
    elif results:
        gm = [
            math.exp(sum(math.log(getattr(r, k)) for r in results) / len(results))
            for k in ("forward", "backward", "total")
        ]
        worst = max(results, key=lambda r: r.total)
        lines.append(f"| **geometric mean** | | | **{gm[0]:.2f}** | **{gm[1]:.2f}** | **{gm[2]:.2f}** | | |")
        lines.append(f"\nWorst total: {worst.total:.2f} ({worst.layer.name}).")
    return "\n".join(lines)
