"""``tconv bench --scaling``: how the time grows with batch, channels and image size, and with threads.

Three sweeps of a k4 s2 p1 2-D layer, one quantity at a time (each a :func:`tconv.bench.harness.run`
of its own, so the libraries are interleaved within a sweep):

* batch ``N`` = 1 … 16 of ``(N, 128, 16, 16) → 64``;
* channels ``C`` = 32 … 512 of ``(1, C, 32, 32) → C/2``;
* size ``S`` = 8 … 128 of ``(1, 64, S, S) → 32``;

and the gain from 1 to 2 threads (time with 1 over time with 2) on a few layers of the grid. The
plot is log-log, one panel per sweep, plus the thread gains as bars.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from tconv.bench import harness
from tconv.bench.layers import GRID
from tconv.bench.report import Report
from tconv.examples import Layer

__all__ = ["SWEEPS", "ScalingResult", "run", "table", "plot"]


def _layer(shape, c_out: int) -> Layer:
    return Layer(f"{'x'.join(map(str, shape))}-{c_out}", tuple(shape), c_out, 4, 2, 1)


#: name → (x label, [(x value, layer)])
SWEEPS = {
    "batch": ("batch N", [(n, _layer((n, 128, 16, 16), 64)) for n in (1, 2, 4, 8, 16)]),
    "channels": ("channels C (C → C/2)", [(c, _layer((1, c, 32, 32), c // 2)) for c in (32, 64, 128, 256, 512)]),
    "size": ("image side S", [(s, _layer((1, 64, s, s), 32)) for s in (8, 16, 32, 64, 128)]),
}
#: Layers whose thread gain is measured.
THREAD_LAYERS = ("u4-256x32", "u3-320x16b2", "u2-1024x28", "dcgan-512x4", "hifigan-2", "d2-64x32")
_QUICK = {"batch": [1, 2], "channels": [32, 64], "size": [8, 16]}


@dataclass
class ScalingResult:
    """The sweeps' reports (x values alongside) and the thread runs."""

    sweeps: dict[str, tuple[str, list[int], Report]]
    threads: dict[int, Report]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def gains(self) -> dict[str, dict[str, float]]:
        """library → {layer: time with 1 thread / time with the most threads}."""
        if len(self.threads) < 2:
            return {}
        one, many = self.threads[min(self.threads)], self.threads[max(self.threads)]
        out: dict[str, dict[str, float]] = {}
        for a, b in zip(one.layers, many.layers):
            for lib, t in a.results.items():
                u = b.results[lib]
                if t.ok and u.ok:
                    out.setdefault(lib, {})[a.name] = t.ms / u.ms  # type: ignore[operator]
        return out


def run(*, repeat: int = 3, threads: int = 2, quick: bool = False, progress: bool = False) -> ScalingResult:
    """Run the sweeps at ``threads`` threads, and the thread layers at 1 and ``threads`` threads."""
    kw = dict(repeat=repeat, progress=progress, quick=quick, block_s=0.0 if quick else 0.05)
    kw["peak_size"] = 256 if quick else 1024
    sweeps = {}
    for name, (label, points) in SWEEPS.items():
        chosen = [(x, l) for x, l in points if not quick or x in _QUICK[name]]
        report = harness.run([l for _, l in chosen], threads=threads, **kw)  # type: ignore[arg-type]
        sweeps[name] = (label, [x for x, _ in chosen], report)
    layers = [l for l in GRID if l.name in THREAD_LAYERS][: 1 if quick else None]
    if quick:
        layers = [_layer((1, 16, 8, 8), 8)]
    counts = sorted({1, threads})
    runs = {n: harness.run(layers, threads=n, **kw) for n in counts}  # type: ignore[arg-type]
    return ScalingResult(sweeps, runs)


def table(result: ScalingResult) -> str:
    """Milliseconds per sweep point and library, and the thread gains."""
    lines = []
    libs = ("tconv", "torch", "onnxruntime")
    for name, (label, xs, report) in result.sweeps.items():
        lines += [
            f"{name}: {label}",
            "| x | layer | " + " | ".join(f"{l} ms" for l in libs) + " |",
            "|---|---|---|---|---|",
        ]
        for x, row in zip(xs, report.layers):
            cells = [f"{row.results[l].ms:.2f}" if row.results[l].ok else row.results[l].status for l in libs]
            lines.append(f"| {x} | {row.name} | " + " | ".join(cells) + " |")
        lines.append("")
    gains = result.gains()
    if gains:
        names = [row.name for row in next(iter(result.threads.values())).layers]
        top = max(result.threads)
        lines += [f"time with 1 thread / time with {top}", "| layer | " + " | ".join(libs) + " |", "|---|---|---|---|"]
        for n in names:
            lines.append(
                f"| {n} | " + " | ".join(f"{gains[l][n]:.2f}" if n in gains.get(l, {}) else "—" for l in libs) + " |"
            )
    return "\n".join(lines)


def figure(result: ScalingResult):
    """Log-log time against each swept quantity, per library; the thread gains as bars: a matplotlib Figure.

    The gains' legend sits in headroom above the tallest bar, so it covers none.
    """
    import matplotlib.ticker
    from matplotlib.figure import Figure

    from tconv.bench.report import plain_ticks

    libs = ("tconv", "torch", "onnxruntime")
    fig = Figure(figsize=(4.2 * (len(result.sweeps) + 1), 3.6))
    axes = fig.subplots(1, len(result.sweeps) + 1)
    for ax, (_name, (label, xs, report)) in zip(axes, result.sweeps.items()):
        for lib in libs:
            pts = [(x, r.results[lib].ms) for x, r in zip(xs, report.layers) if r.results[lib].ok]
            if pts:
                ax.loglog(*zip(*pts), marker="o", label=lib)
        ax.set_xticks(xs, [str(x) for x in xs])  # the swept values, not crowded minor labels
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        plain_ticks(ax.yaxis)
        ax.set_xlabel(label)
        ax.set_ylabel("ms per call")
        ax.grid(True, which="both", lw=0.3)
        ax.legend(fontsize=7)
    ax = axes[-1]
    gains = result.gains()
    names = [row.name for row in next(iter(result.threads.values())).layers]
    width = 0.8 / len(libs)
    tallest = 1.0
    for j, lib in enumerate(libs):
        heights = [gains.get(lib, {}).get(n, 0) for n in names]
        tallest = max(tallest, *heights)
        ax.bar([i + (j - 1) * width for i in range(len(names))], heights, width, label=lib)
    ax.axhline(1, color="k", lw=0.8)
    ax.set_ylim(0, tallest * 1.35)  # headroom for the legend: one row above the bars
    ax.set_xticks(range(len(names)), names, rotation=40, ha="right", fontsize=7)
    ax.set_ylabel(f"time 1 thread / {max(result.threads)} threads")
    ax.legend(fontsize=7, ncol=len(libs), loc="upper center", frameon=False)
    fig.tight_layout()
    return fig


def plot(result: ScalingResult, path: str) -> None:
    """Write :func:`figure` to ``path`` (PNG or SVG, by its extension)."""
    figure(result).savefig(path, dpi=110)
