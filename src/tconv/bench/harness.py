"""``tconv bench``: tconv against PyTorch's and onnxruntime's CPU kernels, side by side, in one run.

For each layer (``tconv.examples.LAYERS``, or shapes given with ``--layer``) every contestant is
called once untimed (warm-up, memory measurement, and a check that all agree), then the layers and
contestants are timed *interleaved* — round after round, each layer, each contestant once — and the
best of ``--repeat`` rounds is kept. Interleaving makes a busy machine slow everyone alike, so the
ratio tconv / torch is trustworthy even where absolute times are not. Each timed call directly
follows untimed calls of the same contestant, for at least 50 ms: thread pools (OpenBLAS's, torch's
OpenMP, onnxruntime's) keep spinning for a while after a call and measurably slowed whichever
library ran next on a 2-core machine (a 45 ms call took 130–220 ms right after torch or
onnxruntime; an 8 ms one 14 ms after a single settling call).

Columns:

* ``ms`` — best wall time of one call (tconv: the whole public ``tconv.conv_transpose`` call);
* ``GFLOP/s`` — useful work ``2·N·C_in·(C_out/G)·Πi·Πk`` over the time (zeros never count);
* ``% peak`` — of the matrix-product peak, ``np.matmul`` on a square float32 product, measured in
  the same rounds;
* ``extra MiB`` — memory allocated besides the output, at the peak: tracemalloc for tconv (NumPy
  reports its buffers to it; measured on a second call, after imports and caches); for torch and
  onnxruntime the growth of the process's peak resident memory over their first call (Linux
  ``VmHWM``, reset before the call) minus the output — approximate (memory the C allocator had
  kept from earlier calls is reused without growth), and ``n/a`` where it cannot be read.

Below the table: the geometric mean and the worst of the ratios tconv / torch, and the time of one
whole ``tconv.conv_transpose`` call on the learner's 2×2 example. Missing torch or onnxruntime make
their columns say ``not installed``. ``--quick`` is a smoke run (tiny shapes, one round) for CI.
``--json`` prints the results as JSON; ``--plot out.png`` draws them (matplotlib, imported only
then).

    python -m tconv.bench --repeat 7 --plot docs/img/bench.png   # the table in the README (Speed)
    tconv bench --layer "8,64,32,32:32:4:2:1" --repeat 5 --json
"""

from __future__ import annotations

import importlib.util
import math
import os
import platform
import sys
import time
import tracemalloc
from dataclasses import dataclass, field

import numpy as np

from tconv import api
from tconv.arguments import transpose_geometry
from tconv.errors import TConvError
from tconv.examples import LEARNER, Layer
from tconv.geometry import Geometry
from tconv.interop.frameworks import torch_arguments
from tconv.methods import gemm_numpy

__all__ = ["parse_layer", "run", "QUICK_LAYERS"]

#: Tiny shapes for ``--quick`` (CI): every arrangement of the fast path, well under a second.
QUICK_LAYERS = [
    Layer("quick-k4s2", (2, 16, 8, 8), 16, 4, 2, 1, note="overlapping taps, crop"),
    Layer("quick-k2s2", (1, 16, 8, 8), 8, 2, 2, 0, note="k = s"),
    Layer("quick-dcgan", (8, 32, 4, 4), 64, 4, 2, 1, note="small image, many channels"),
    Layer("quick-1d", (1, 16, 20), 8, 16, 8, 4, note="1-D"),
    Layer("quick-same", (4, 16, 8), 16, 5, 2, "same", note="'same'"),
    Layer("quick-3d", (1, 8, 4, 4, 4), 4, 2, 2, 0, note="3-D"),
    Layer("quick-op", (2, 8, 8, 8), 8, 3, 2, 1, 1, note="output_padding"),
]


def parse_layer(text: str) -> Layer:
    """``"N,C,H,W:Cout:k:s:p[:op]"`` (any number of spatial sizes; ``p`` may be ``same``) → Layer.

    >>> parse_layer("8,64,32,32:32:4:2:1")
    Layer(name='8x64x32x32-32-k4s2p1', input_shape=(8, 64, 32, 32), out_channels=32, kernel=4, stride=2, padding=1, output_padding=0, note='', kwargs={})
    """
    parts = text.split(":")
    try:
        if len(parts) not in (5, 6):
            raise ValueError("expected 5 or 6 fields separated by ':'")
        shape = tuple(int(v) for v in parts[0].split(","))
        if len(shape) < 3:
            raise ValueError("the input shape needs N, C and at least one spatial size")
        cout, k, s = int(parts[1]), int(parts[2]), int(parts[3])
        p = parts[4] if parts[4] in ("same", "valid") else int(parts[4])
        op = int(parts[5]) if len(parts) == 6 else 0
    except ValueError as exc:
        raise TConvError(
            f'--layer {text!r}: {exc} (format "N,C,H,W:Cout:k:s:p[:op]", e.g. "8,64,32,32:32:4:2:1")'
        ) from None
    name = f"{'x'.join(map(str, shape))}-{cout}-k{k}s{s}p{p}" + (f"op{op}" if op else "")
    return Layer(name, shape, cout, k, s, p, op)


@dataclass
class Case:
    """One layer, its arrays and geometry, and the contestants' callables (or why they are absent)."""

    layer: Layer
    geometry: Geometry
    x: np.ndarray
    w: np.ndarray
    calls: dict = field(default_factory=dict)  # name -> callable returning a NumPy-convertible array
    missing: dict = field(default_factory=dict)  # name -> reason
    results: dict = field(default_factory=dict)  # name -> dict


def _kwargs(layer: Layer) -> dict:
    return dict(stride=layer.stride, padding=layer.padding, output_padding=layer.output_padding, **layer.kwargs)


def _torch_call(torch, case: Case):
    """``torch.nn.functional.conv_transpose{1,2,3}d`` for the case, with
    :func:`~tconv.interop.frameworks.torch_arguments`: plus a slice where tconv's crop is asymmetric."""
    g = case.geometry
    if g.ndim > 3:
        return None, "n/a (torch has 1-3-D only)"
    fn = getattr(torch.nn.functional, f"conv_transpose{g.ndim}d")
    t = torch_arguments(g)
    if any(s < 0 or s + n > m for s, n, m in zip(t.start, t.size, t.torch_size)):
        return None, "n/a (crop not expressible)"
    tx, tw = torch.from_numpy(case.x), torch.from_numpy(case.w)
    crop = (Ellipsis, *(slice(s, s + n) for s, n in zip(t.start, t.size)))
    kw = dict(stride=g.stride, padding=t.padding, output_padding=t.output_padding, groups=g.groups, dilation=g.dilation)

    def call():
        with torch.no_grad():
            return fn(tx, tw, **kw)[crop]

    return call, None


def _ort_call(ort, onnx, case: Case):
    """An onnxruntime session of one ``ConvTranspose`` node, the weight an initializer."""
    g = case.geometry
    if any(e < 0 for e in g.end):
        return None, "n/a (negative pads)"
    from onnx import TensorProto, helper, numpy_helper

    node = helper.make_node(
        "ConvTranspose",
        ["x", "w"],
        ["y"],
        kernel_shape=list(g.kernel),
        strides=list(g.stride),
        dilations=list(g.dilation),
        pads=[*g.begin, *g.end],
        group=g.groups,
    )
    graph = helper.make_graph(
        [node],
        "tconv_bench",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(case.x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(case.w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    feed = {"x": case.x}
    return (lambda: session.run(None, feed)[0]), None


def _optional(name: str):
    if importlib.util.find_spec(name) is None:
        return None
    try:
        return __import__(name)
    except Exception:  # a broken install counts as missing
        return None


def _prepare(layers, method: str, peers: bool, rng) -> list[Case]:
    torch = _optional("torch") if peers else None
    ort = _optional("onnxruntime") if peers else None
    onnx = _optional("onnx") if ort is not None else None
    if torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)
    cases = []
    for layer in layers:
        x = rng.standard_normal(layer.input_shape, dtype=np.float32)
        w = rng.standard_normal(layer.weight_shape, dtype=np.float32) / math.sqrt(layer.weight_shape[0])
        kw = _kwargs(layer)
        g = transpose_geometry(x.shape, w.shape, **kw)
        case = Case(layer, g, x, w)
        case.calls["tconv"] = lambda x=x, w=w, kw=kw: api.conv_transpose(x, w, method=method, **kw)
        for name, module, make in (("torch", torch, _torch_call), ("onnxruntime", ort, _ort_call)):
            if not peers:
                case.missing[name] = "not run"
            elif module is None or (name == "onnxruntime" and onnx is None):
                case.missing[name] = "not installed"
            else:
                try:
                    call, why = make(torch, case) if name == "torch" else make(ort, onnx, case)
                except Exception as exc:  # a peer refusing a shape is a result, not a crash
                    call, why = None, f"n/a ({type(exc).__name__})"
                if call is None:
                    case.missing[name] = why
                else:
                    case.calls[name] = call
        cases.append(case)
    return cases


def _rss_hwm() -> int | None:
    """Peak resident bytes of this process since the last reset (Linux), else None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _as_numpy(y):
    return y.numpy() if hasattr(y, "numpy") and not isinstance(y, np.ndarray) else np.asarray(y)


def _warm(case: Case) -> None:
    """One untimed call each: memory, and agreement with tconv (max |difference| / max |tconv|)."""
    out_bytes = math.prod(case.geometry.output_shape) * 4
    reference = None
    for name, call in case.calls.items():
        if name == "tconv":
            call()  # first call: imports and caches, not part of a call's memory
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            y = call()
            extra = tracemalloc.get_traced_memory()[1] - base - out_bytes
            tracemalloc.stop()
        else:  # the first call: onnxruntime's arena grows then, and keeps what it took
            before = _rss_hwm() if _reset_hwm() else None
            y = call()
            after = _rss_hwm()
            extra = None if before is None or after is None else max(0, after - before - out_bytes)
            call()
        y = _as_numpy(y)
        if reference is None:
            reference = y
            scale = float(np.max(np.abs(y))) or 1.0
        error = float(np.max(np.abs(y - reference))) / scale if y.shape == reference.shape else float("inf")
        case.results[name] = {
            "ms": math.inf,
            "extra_bytes": None if extra is None else max(0, int(extra)),
            "rel_error": error,
        }
        del y


def _progress(done: int, total: int, what: str, enabled: bool) -> None:
    if not enabled:
        return
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {what[:40]:40s}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _settle(call, seconds: float) -> None:
    """Call untimed, at least once and for ``seconds``: the previous library's threads stop
    spinning and this one's are awake before the timed call."""
    end = time.perf_counter() + seconds
    call()
    while time.perf_counter() < end:
        call()


def _peak(n: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    return a, a.T.copy()


def run(layers, *, method="auto", repeat=3, peers=True, peak_size=2048, progress=True, seed=0, settle=0.05) -> dict:
    """Time the layers; return the results as a JSON-ready dict (what ``--json`` prints)."""
    rng = np.random.default_rng(seed)
    cases = _prepare(layers, method, peers, rng)
    a, b = _peak(peak_size)
    names = ["tconv", "torch", "onnxruntime"]
    total = len(cases) * (1 + repeat * len(names)) + repeat
    done = 0
    for case in cases:
        _progress(done, total, f"{case.layer.name}: warm-up", progress)
        _warm(case)
        done += 1
    peak_s = math.inf
    for _ in range(repeat):
        _settle(lambda: np.matmul(a, b), settle)
        t0 = time.perf_counter()
        np.matmul(a, b)
        peak_s = min(peak_s, time.perf_counter() - t0)
        done += 1
        for case in cases:
            for name in names:
                call = case.calls.get(name)
                _progress(done, total, f"{case.layer.name}: {name}", progress)
                if call is not None:
                    _settle(call, settle)
                    t0 = time.perf_counter()
                    call()
                    elapsed = time.perf_counter() - t0
                    r = case.results[name]
                    r["ms"] = min(r["ms"], elapsed * 1e3)
                done += 1
    _progress(total, total, "done", progress)
    peak = 2 * peak_size**3 / peak_s / 1e9
    learner_us = _learner_us(method, 200 if peak_size < 1024 else 2000, repeat)
    rows = []
    for case in cases:
        g, flops = case.geometry, 2 * case.geometry.macs
        row = {
            "name": case.layer.name,
            "note": case.layer.note,
            "input_shape": list(g.input_shape),
            "weight_shape": list(g.weight_shape),
            "output_shape": list(g.output_shape),
            "kernel": list(g.kernel),
            "stride": list(g.stride),
            "padding": case.layer.padding,
            "output_padding": case.layer.output_padding,
            "gflop": flops / 1e9,
            "method": api.choose_method(g) if method == "auto" else method,
            "arrangement": gemm_numpy.plan(g),  # of gemm's NumPy path
            "results": {},
        }
        for name in names:
            if name in case.missing:
                row["results"][name] = {"status": case.missing[name]}
                continue
            r = dict(case.results[name])
            r["gflops"] = flops / (r["ms"] / 1e3) / 1e9
            r["pct_peak"] = 100 * r["gflops"] / peak
            row["results"][name] = r
        t = row["results"]["torch"]
        row["ratio"] = row["results"]["tconv"]["ms"] / t["ms"] if "ms" in t else None
        rows.append(row)
    ratios = [r["ratio"] for r in rows if r["ratio"]]
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "torch": _version("torch") if peers else None,
            "onnxruntime": _version("onnxruntime") if peers else None,
            "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")},
        },
        "method": method,
        "repeat": repeat,
        "peak_gflops": peak,
        "peak_size": peak_size,
        "learner_us": learner_us,
        "layers": rows,
        "summary": {
            "geomean_ratio": math.exp(sum(map(math.log, ratios)) / len(ratios)) if ratios else None,
            "worst_ratio": max(ratios) if ratios else None,
        },
    }


def _learner_us(method: str, calls: int, repeat: int) -> float:
    """Microseconds per whole ``tconv.conv_transpose`` call on the learner's 2×2 example (NumPy
    integer arrays, batched): argument checking, geometry, compute, result."""
    x = np.array(LEARNER.input)[None, None]
    w = np.array(LEARNER.kernel)[None, None]
    best = math.inf
    for _ in range(max(repeat, 3)):
        t0 = time.perf_counter()
        for _ in range(calls):
            api.conv_transpose(x, w, method=method)
        best = min(best, (time.perf_counter() - t0) / calls)
    return best * 1e6


def _version(name: str):
    module = _optional(name)
    return getattr(module, "__version__", None) if module is not None else None


def _fmt_ms(r: dict) -> str:
    return f"{r['ms']:.2f}" if "ms" in r else r["status"]


def _fmt_mib(v) -> str:
    return "n/a" if v is None else f"{v / 2**20:.1f}"


def table(report: dict) -> str:
    """The results as a Markdown table (the one in the README, section Speed)."""
    head = [
        "layer",
        "input → output",
        "k/s/p",
        "GFLOP",
        "tconv ms",
        "torch ms",
        "tconv/torch",
        "ort ms",
        "tconv GFLOP/s",
        "% peak",
        "tconv extra MiB",
        "torch extra MiB",
        "ort extra MiB",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in report["layers"]:
        t, p, o = (row["results"][n] for n in ("tconv", "torch", "onnxruntime"))
        ksp = f"{row['kernel'][0]}/{row['stride'][0]}/{row['padding']}" + (
            f" op{row['output_padding']}" if row["output_padding"] else ""
        )
        shapes = f"{'×'.join(map(str, row['input_shape']))} → {'×'.join(map(str, row['output_shape']))}"
        cells = [
            row["name"],
            shapes,
            ksp,
            f"{row['gflop']:.2f}",
            _fmt_ms(t),
            _fmt_ms(p),
            f"{row['ratio']:.2f}" if row["ratio"] else "—",
            _fmt_ms(o),
            f"{t['gflops']:.0f}",
            f"{t['pct_peak']:.0f}",
            _fmt_mib(t.get("extra_bytes")),
            _fmt_mib(p.get("extra_bytes")),
            _fmt_mib(o.get("extra_bytes")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    s, m = report["summary"], report["machine"]
    lines.append("")
    if s["geomean_ratio"]:
        lines.append(f"tconv / torch time: geometric mean {s['geomean_ratio']:.2f}, worst {s['worst_ratio']:.2f}.")
    lines.append(f"The learner's 2×2 example: {report['learner_us']:.1f} µs per tconv.conv_transpose call.")
    lines.append(
        f"Matrix-product peak (np.matmul, {report['peak_size']}² float32): {report['peak_gflops']:.0f} GFLOP/s. "
        f"{m['cpus']} CPUs, numpy {m['numpy']}, torch {m['torch'] or '—'}, onnxruntime {m['onnxruntime'] or '—'}; "
        f"method={report['method']}, best of {report['repeat']}."
    )
    if m.get("openblas_env"):
        lines.append(f"Note: {m['openblas_env']} was set; it can slow NumPy's matrix products.")
    return "\n".join(lines)


def plot(report: dict, path: str) -> None:
    """GFLOP/s per layer and library, with the matrix-product peak as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["layers"]
    names = ["tconv", "torch", "onnxruntime"]
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(rows)), 4))
    width = 0.8 / len(names)
    top = report["peak_gflops"]
    for j, name in enumerate(names):
        values = [r["results"][name].get("gflops", 0) for r in rows]
        top = max(top, *values)
        ax.bar([i + (j - 1) * width for i in range(len(rows))], values, width, label=name)
    ax.axhline(report["peak_gflops"], color="k", lw=1, ls="--", label=f"np.matmul peak ({report['peak_gflops']:.0f})")
    ax.set_ylim(0, 1.15 * top)
    ax.set_xticks(range(len(rows)), [r["name"] for r in rows], rotation=30, ha="right")
    ax.set_ylabel("useful GFLOP/s (float32)")
    ax.set_title(f"conv_transpose, {report['machine']['cpus']} CPUs, best of {report['repeat']}")
    ax.legend(fontsize=8, ncol=4, loc="upper center")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
