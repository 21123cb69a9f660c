"""``python -m tconv.torch.bench``: tconv's layers against torch.nn's, forward + backward, side by side.

For each layer of :data:`tconv.examples.LAYERS` a ``torch.nn.ConvTranspose{n}d`` and tconv's layer
with the same weights (:meth:`~tconv.torch.ConvTranspose2d.from_torch`) run one training step's worth
of work — ``y = layer(x)``, then ``y.backward(gy)`` for the gradients of input, weight and bias. Both
are run once untimed (warm-up and a check that they agree), then timed *interleaved*, round after
round, and the best of ``--repeat`` rounds is kept: a busy machine slows both alike, so the ratio is
trustworthy where absolute times are not. Layers whose forward exceeds ``--max-gmac`` multiply-adds
run with a smaller batch (said in the output). ``--quick`` is a CI smoke run on tiny shapes.

Columns: milliseconds of torch.nn (forward + backward), and tconv's time divided by torch.nn's for
the forward, the backward and both; the last line is the geometric mean of the ratios.

    python -m tconv.torch.bench                 # the table in the README (PyTorch, Speed)
    python -m tconv.torch.bench --quick
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import platform
import sys
import time

import torch
from tconv.arguments import transpose_geometry
from tconv.examples import LAYERS, Layer
from tconv.interop.frameworks import torch_arguments
from tconv.torch.modules import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d

__all__ = ["main", "run", "QUICK_LAYERS"]

#: Tiny shapes for ``--quick``: one of each kind, well under a second each.
QUICK_LAYERS = [
    Layer("quick-k4s2", (2, 16, 8, 8), 16, 4, 2, 1),
    Layer("quick-k2s2", (1, 16, 8, 8), 8, 2, 2, 0),
    Layer("quick-1d", (1, 16, 20), 8, 16, 8, 4),
    Layer("quick-same", (4, 16, 8), 16, 5, 2, "same"),
    Layer("quick-3d", (1, 8, 4, 4, 4), 4, 2, 2, 0),
    Layer("quick-op", (2, 8, 8, 8), 8, 3, 2, 1, 1),
]


def _layers(layer: Layer, method: str):
    """(torch.nn layer, tconv layer, note) with the same weights.

    torch.nn has no "same"; it gets padding ``b`` at both ends and ``output_padding = b − e`` when
    that is legal, which is the same layer. Otherwise (WaveGAN's k25 s4: b = 10, e = 11) it gets
    padding ``b`` and no output_padding: the same window, one element longer at the end."""
    g = transpose_geometry(layer.input_shape, layer.weight_shape, layer.stride, layer.padding, layer.output_padding)
    t = torch_arguments(g)
    note = "" if t.exact else f"torch.nn: padding={t.padding[0]}, output size {t.torch_size} for {t.size}"
    nn_cls = getattr(torch.nn, f"ConvTranspose{g.ndim}d")
    theirs = nn_cls(layer.input_shape[1], layer.out_channels, layer.kernel, layer.stride, t.padding, t.output_padding)
    ours = {1: ConvTranspose1d, 2: ConvTranspose2d, 3: ConvTranspose3d}[g.ndim].from_torch(theirs, method=method)
    ours.padding, ours.output_padding = layer.padding, (layer.output_padding,) * g.ndim
    return theirs, ours, note


def _step(module, x, gy):
    """Seconds for the forward and for the backward of one step."""
    module.zero_grad(set_to_none=True)
    x.grad = None
    t0 = time.perf_counter()
    y = module(x)
    t1 = time.perf_counter()
    y.backward(gy)
    return t1 - t0, time.perf_counter() - t1


def run(layers, repeat: int, max_gmac: float, method: str = "auto"):
    """Time every layer; return ``[(layer, note, torch seconds, (fwd, bwd, total) ratios)]``."""
    torch.manual_seed(0)
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
        contestants = [(theirs, gy, [math.inf] * 3), (ours, gy[common].contiguous(), [math.inf] * 3)]
        for module, g, _ in contestants:
            _step(module, x, g)  # warm-up
        cases.append((layer, note, x, contestants))
    for _ in range(repeat):
        for _, _, x, contestants in cases:
            for module, g, best in contestants:
                f, b = _step(module, x, g)
                for i, v in enumerate((f, b, f + b)):
                    best[i] = min(best[i], v)
    results = []
    for layer, note, _, ((_, _, best_t), (_, _, best_o)) in cases:
        results.append((layer, note, best_t[2], tuple(o / t for o, t in zip(best_o, best_t))))
    return results


def report(results, repeat):
    """Print the table and return the geometric means of the (forward, backward, total) ratios."""
    print(
        f"tconv.torch vs torch.nn, forward + backward (grads of input, weight, bias), float32, CPU, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}, {platform.machine()}; best of {repeat}, interleaved"
    )
    print(f"{'layer':18s} {'input':22s} {'torch.nn ms':>11s} {'fwd x':>6s} {'bwd x':>6s} {'total x':>7s}  note")
    for layer, note, t, (f, b, tot) in results:
        shape = "x".join(map(str, layer.input_shape))
        print(f"{layer.name:18s} {shape:22s} {t * 1e3:11.1f} {f:6.2f} {b:6.2f} {tot:7.2f}  {note}")
    gm = [math.exp(sum(math.log(r[3][i]) for r in results) / len(results)) for i in range(3)]
    print(f"{'geometric mean':18s} {'':22s} {'':11s} {gm[0]:6.2f} {gm[1]:6.2f} {gm[2]:7.2f}")
    return gm


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tconv.torch.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny shapes, at most 3 rounds (CI smoke run)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the best is kept (default 5)")
    parser.add_argument(
        "--max-gmac",
        type=float,
        default=20.0,
        help="scale the batch down to this forward size (default 20: none of LAYERS is scaled)",
    )
    parser.add_argument("--method", default="auto", help="tconv's method (default auto)")
    parser.add_argument("--layer", action="append", help="only the named layers of tconv.examples.LAYERS")
    args = parser.parse_args(argv)
    layers = QUICK_LAYERS if args.quick else [l for l in LAYERS if not args.layer or l.name in args.layer]
    repeat = min(args.repeat, 3) if args.quick else args.repeat
    report(run(layers, repeat, args.max_gmac, args.method), repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
