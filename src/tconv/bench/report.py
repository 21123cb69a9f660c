"""The benchmark's records and report: typed results, the summary against the targets, table and plot.

The targets (issues #11 and #20; float32, the same threads for everyone, measured in one run):

* tconv / best peer (the faster of PyTorch and onnxruntime) — geometric mean ≤ 1.1, worst ≤ 1.6
  (issue #20's, on the grid and on random layers; issue #11 had asked 0.9 and 1.2 of the grid);
* every compute-bound layer (at least :data:`COMPUTE_BOUND` flops per byte of input, weight and
  output) at ≥ 70 % of the matrix-product peak;
* small layers (class ``small``) within 1.2× of the best peer;
* extra memory ≤ max(64 MiB, the output's size).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from tconv.geometry import Geometry

#: tconv / best peer: issue #20's targets, drawn on the plots.
TARGET_GEOMEAN, TARGET_WORST = 1.1, 1.6

__all__ = ["Timing", "Row", "Machine", "ClassSummary", "Summary", "Report", "make_row", "summarise", "table", "plot"]

#: Flops per byte of (input + weight + output) from which a layer counts as compute-bound: well
#: above the machine's balance (≈ 200 GFLOP/s over ≈ 20 GB/s), so that even col2im's traffic hides.
COMPUTE_BOUND = 64.0
#: Extra memory always allowed (bytes); above it, at most the output's size.
MEMORY_FLOOR = 64 * 2**20
PEERS = ("torch", "onnxruntime")


@dataclass
class Timing:
    """One library on one layer: best time per call, noise, memory, agreement — or why it is absent."""

    status: str = "ok"
    ms: float | None = None
    noise: float | None = None  # median block / best block − 1
    gflops: float | None = None
    pct_peak: float | None = None
    extra_bytes: int | None = None
    rel_error: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.ms is not None


@dataclass
class Row:
    """One layer's results and its ratio to the best peer."""

    name: str
    cls: str
    input_shape: tuple
    weight_shape: tuple
    output_shape: tuple
    kernel: tuple
    stride: tuple
    padding: Any
    output_padding: Any
    gflop: float
    intensity: float
    method: str
    arrangement: str
    results: dict[str, Timing]
    best_peer: str | None = None
    ratio: float | None = None  # tconv ms / best peer ms
    noise: float | None = None  # the larger noise of the two
    output_bytes: int = 0

    @property
    def compute_bound(self) -> bool:
        return self.intensity >= COMPUTE_BOUND

    @property
    def memory_ok(self) -> bool | None:
        extra = self.results["tconv"].extra_bytes
        return None if extra is None else extra <= max(MEMORY_FLOOR, self.output_bytes)


def make_row(*, name: str, cls: str, geometry: Geometry, results: dict[str, Timing], **kw) -> Row:
    """A :class:`Row` with its ratio to the best peer (the faster of those that ran)."""
    g = geometry
    row = Row(
        name=name,
        cls=cls,
        input_shape=g.input_shape,
        weight_shape=g.weight_shape,
        output_shape=g.output_shape,
        kernel=g.kernel,
        stride=g.stride,
        results=results,
        output_bytes=math.prod(g.output_shape) * 4,
        **kw,
    )
    peers = [(results[p].ms, p) for p in PEERS if p in results and results[p].ok]
    if peers and results["tconv"].ok:
        best_ms, row.best_peer = min(peers)
        row.ratio = results["tconv"].ms / best_ms  # type: ignore[operator]
        row.noise = max(results["tconv"].noise or 0.0, results[row.best_peer].noise or 0.0)
    return row


@dataclass
class Machine:
    """Where the run happened."""

    cpus: int
    processor: str
    python: str
    numpy: str
    torch: str | None
    onnxruntime: str | None
    blas: str
    blas_threads_limited: bool
    openblas_env: dict[str, str] = field(default_factory=dict)
    numba: str | None = None  # its version when installed: the compiled arrangement is available
    numba_first_call: tuple[float, bool, str] | None = None  # seconds, from numba's disk cache, its folder


@dataclass
class ClassSummary:
    """tconv / best peer over the layers of one class."""

    count: int
    geomean: float
    worst: float
    worst_layer: str


@dataclass
class Summary:
    """The run against the targets."""

    geomean: float | None
    worst: float | None
    worst_layer: str | None
    per_class: dict[str, ClassSummary]
    compute_bound: int
    compute_bound_min_pct: float | None
    below_70_pct: list[str]
    memory_over: list[str]
    max_noise: float | None


def _geomean(values: list[float]) -> float:
    return math.exp(sum(map(math.log, values)) / len(values))


def summarise(rows: list[Row]) -> Summary:
    """Geometric mean and worst of tconv / best peer, per class too; % of peak; memory; noise."""
    rated = [r for r in rows if r.ratio]
    per_class = {}
    for cls in dict.fromkeys(r.cls for r in rated):
        group = [r for r in rated if r.cls == cls]
        worst = max(group, key=lambda r: r.ratio or 0)
        per_class[cls] = ClassSummary(len(group), _geomean([r.ratio for r in group]), worst.ratio, worst.name)  # type: ignore[misc]
    bound = [r for r in rows if r.compute_bound and r.results["tconv"].ok]
    worst = max(rated, key=lambda r: r.ratio or 0) if rated else None
    return Summary(
        geomean=_geomean([r.ratio for r in rated]) if rated else None,  # type: ignore[misc]
        worst=worst.ratio if worst else None,
        worst_layer=worst.name if worst else None,
        per_class=per_class,
        compute_bound=len(bound),
        compute_bound_min_pct=min((r.results["tconv"].pct_peak or 0.0) for r in bound) if bound else None,
        below_70_pct=[r.name for r in bound if (r.results["tconv"].pct_peak or 0.0) < 70],
        memory_over=[r.name for r in rows if r.memory_ok is False],
        max_noise=max((r.noise for r in rated if r.noise is not None), default=None),
    )


@dataclass
class Report:
    """A whole run: what ``--json`` prints (:meth:`to_dict`)."""

    machine: Machine
    method: str
    repeat: int
    threads: int
    quick: bool
    clock: str  # "wall" or "cpu" (one thread's CPU time)
    peak_gflops: float
    peak_size: int
    learner_us: float
    layers: list[Row]
    summary: Summary
    dtype: str = "float32"

    def to_dict(self) -> dict:
        """The report as plain JSON-ready data."""
        return dataclasses.asdict(self)


def _ms(t: Timing) -> str:
    return f"{t.ms:.2f}" if t.ok else t.status


def _mib(v: int | None) -> str:
    return "n/a" if v is None else f"{v / 2**20:.1f}"


def _first_call(first: tuple[float, bool, str] | None) -> str:
    if first is None:
        return ""
    seconds, cached, folder = first
    how = "loaded from numba's disk cache" if cached else "compiled, then written to numba's disk cache"
    return f" Its kernels' first calls (the loop and both col2im passes) took {seconds:.2f} s ({how}, {folder})."


def table(report: Report) -> str:
    """The results as a Markdown table, then the summary (a smoke run says so and rates nothing)."""
    head = ["layer", "class", "input → output", "k/s/p", "GFLOP", "tconv ms", "torch ms", "ort ms", "noise"]
    head += ["tconv/best", "% peak", "extra MiB", "arrangement"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in report.layers:
        t, p, o = (row.results[n] for n in ("tconv", "torch", "onnxruntime"))
        ksp = f"{row.kernel[0]}/{row.stride[0]}/{row.padding}" + (
            f" op{row.output_padding}" if row.output_padding else ""
        )
        shapes = f"{'×'.join(map(str, row.input_shape))} → {'×'.join(map(str, row.output_shape))}"
        ratio = "—" if row.ratio is None or report.quick else f"{row.ratio:.2f}"
        cells = [row.name, row.cls, shapes, ksp, f"{row.gflop:.3f}", _ms(t), _ms(p), _ms(o)]
        cells += [f"{100 * row.noise:.0f} %" if row.noise is not None else "—", ratio]
        cells += [f"{t.pct_peak:.0f}" + ("" if row.compute_bound else " ¹") if t.ok and not report.quick else "—"]
        cells += [_mib(t.extra_bytes) + ("" if row.memory_ok is not False else " ²"), row.arrangement]
        lines.append("| " + " | ".join(cells) + " |")
    m, s = report.machine, report.summary
    lines.append("")
    if report.quick:
        lines.append("SMOKE RUN (--quick): tiny shapes, one round — the times above are not results; no ratios.")
    elif s.geomean is not None:
        lines.append(
            f"tconv / best peer: geometric mean {s.geomean:.2f}, worst {s.worst:.2f} ({s.worst_layer}); "
            f"largest noise {100 * (s.max_noise or 0):.0f} %."
        )
        for cls, c in s.per_class.items():
            lines.append(
                f"* {cls}: {c.count} layers, geometric mean {c.geomean:.2f}, worst {c.worst:.2f} ({c.worst_layer})"
            )
        if s.compute_bound_min_pct is not None:
            below = ", ".join(s.below_70_pct) or "none"
            lines.append(
                f"Compute-bound layers: {s.compute_bound}, lowest {s.compute_bound_min_pct:.0f} % of peak; below 70 %: {below}."
            )
        over = ", ".join(s.memory_over) or "none"
        lines.append(f"Extra memory over max(64 MiB, output): {over}.")
    lines.append(
        f"¹ not compute-bound (< {COMPUTE_BOUND:.0f} flops per byte of input, weight and output). "
        "² extra memory over max(64 MiB, output)."
    )
    if not report.quick:
        lines.append(f"The learner's 2×2 example: {report.learner_us:.1f} µs per tconv.conv_transpose call.")
    lines.append(
        f"Matrix-product peak (np.matmul, {report.peak_size}² float32, {report.threads} threads): "
        f"{report.peak_gflops:.0f} GFLOP/s. {m.cpus} CPUs ({m.processor}), numpy {m.numpy} with {m.blas}, "
        f"torch {m.torch or '—'}, onnxruntime {m.onnxruntime or '—'}; method={report.method}, "
        f"{report.threads} threads each, best of {report.repeat} interleaved blocks"
        + (", CPU time." if report.clock == "cpu" else ", wall time.")
    )
    lines.append(
        f"Arrays {report.dtype}. "
        + (
            f"numba {m.numba}: channels-first and channels-last sum their columns with the compiled col2im, "
            "and the compiled arrangement is available; the rule takes it where "
            "tconv.methods.gemm_compiled.wins says (integers, small calls, shallow overlapping layers)."
            + _first_call(m.numba_first_call)
            if m.numba
            else "numba is not installed or hidden (--no-numba): no compiled arrangement (the fast extra installs it)."
        )
    )
    lines += _arrangement_lines(report)
    if not m.blas_threads_limited:
        lines.append(
            "Note: threadpoolctl is not installed; NumPy's BLAS used as many threads as the environment let it."
        )
    if m.openblas_env:
        lines.append(f"Note: {m.openblas_env} was set; it can slow NumPy's matrix products.")
    return "\n".join(lines)


def _arrangement_lines(report: Report) -> list[str]:
    """Per layer, the forced arrangements' times and their ratio to tconv's own call and to the best peer."""
    lines = []
    for row in report.layers:
        extra = {n[6:]: t for n, t in row.results.items() if n.startswith("tconv:")}
        if not extra:
            continue
        peer = row.results[row.best_peer].ms if row.best_peer else None
        parts = []
        for how, t in extra.items():
            if not t.ok:
                parts.append(f"{how} {t.status}")
                continue
            vs = f"{t.ms / row.results['tconv'].ms:.2f}× tconv" if row.results["tconv"].ok else ""  # type: ignore[operator]
            parts.append(f"{how} {t.ms:.3f} ms ({vs}" + (f", {t.ms / peer:.2f}× best peer)" if peer else ")"))
        lines.append(f"* {row.name} arrangements: " + "; ".join(parts))
    return lines


def plain_ticks(axis) -> None:
    """Log-axis tick labels as plain numbers (``0.5``, ``1``, ``2``), not ``2×10⁰``; the minor ticks
    are labelled at 2, 3 and 5 of each decade only, so they do not crowd."""
    import math

    from matplotlib.ticker import FuncFormatter

    def major(v, _pos):
        return f"{v:g}"

    def minor(v, _pos):
        if v <= 0:
            return ""
        lead = round(v / 10 ** math.floor(math.log10(v)), 6)
        return f"{v:g}" if lead in (2, 3, 5) else ""

    axis.set_major_formatter(FuncFormatter(major))
    axis.set_minor_formatter(FuncFormatter(minor))


def figure(report: Report):
    """tconv / best peer per layer (log scale, grouped by class), with the targets as lines: a matplotlib Figure."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    rows = [r for r in report.layers if r.ratio]
    fig = Figure(figsize=(max(6, 0.28 * len(rows) + 2), 4.2))
    ax = fig.add_subplot()
    classes = list(dict.fromkeys(r.cls for r in rows))
    palette = matplotlib_colours()
    for i, r in enumerate(rows):
        ax.bar(i, r.ratio, color=palette[classes.index(r.cls) % 10])
        if r.noise:
            ax.errorbar(i, r.ratio, yerr=[[0], [r.ratio * r.noise]], color="k", lw=0.8, capsize=1.5)  # type: ignore[operator]
    handles = [Patch(color=palette[i % 10], label=cls) for i, cls in enumerate(classes)]
    ax.axhline(1.0, color="k", lw=1)
    handles.append(ax.axhline(TARGET_WORST, color="r", lw=1, ls="--", label=f"worst target {TARGET_WORST}"))
    handles.append(ax.axhline(TARGET_GEOMEAN, color="g", lw=1, ls=":", label=f"geometric-mean target {TARGET_GEOMEAN}"))
    ax.set_yscale("log")
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi * (hi / lo) ** 0.4)  # headroom above the tallest bar for the legend
    plain_ticks(ax.yaxis)
    ax.set_xticks(range(len(rows)), [r.name for r in rows], rotation=70, ha="right", fontsize=7)
    ax.set_ylabel("tconv time / best peer time")
    s = report.summary
    title = f"conv_transpose, {report.dtype}, {report.threads} thread{'s' if report.threads > 1 else ''} each, {report.clock} time"
    if s.geomean:
        title += f": geometric mean {s.geomean:.2f}, worst {s.worst:.2f}"
    ax.set_title(title, fontsize=10)
    ax.legend(handles=handles, fontsize=7, ncol=3, loc="upper left")
    fig.tight_layout()
    return fig


def matplotlib_colours() -> list:
    """matplotlib's ``tab10`` colours, in order."""
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(i) for i in range(10)]


def plot(report: Report, path: str) -> None:
    """Write :func:`figure` to ``path`` (PNG or SVG, by its extension)."""
    figure(report).savefig(path, dpi=110)
