"""The benchmark's measuring: tconv against PyTorch's and onnxruntime's CPU kernels, in one process.

For each layer every contestant is called once untimed (imports, caches, memory measurement, and a
check that all agree), then timed in **blocks interleaved by library**: round after round, for each
layer, each library runs one untimed call and then a block of calls timed together (enough calls
for about ``block_s`` seconds). Alternating single calls would make each library wait on the thread
pools of the others, which keep spinning for a while after a call (on 2 cores a 45 ms call took
130–220 ms right after torch or onnxruntime). With more than one thread each block also starts
after a **pause** (``pause_s``, 50 ms): a settling call of a few milliseconds is not enough for
onnxruntime's idle threads to stop spinning — measured, two-threaded tconv calls ran 20–35 % slower
in blocks right after onnxruntime's than alone, and within 2–6 % of alone after a 50 ms pause. Every
library gets the pause, so each is timed as a program that uses it alone would see it. The rounds
make a busy machine slow everyone alike, and the order of the libraries rotates from round to round.

Per library and layer the report keeps the **best** block (time per call) and a **noise
estimate**: the median block over the best, minus one (0.05 = the typical block was 5 % slower
than the best). Every library gets the same number of threads: ``torch.set_num_threads``,
onnxruntime's ``intra_op_num_threads``, and for NumPy's BLAS ``threadpoolctl`` (when installed;
else the environment decides, which the report says) — tconv's own col2im threads follow suit.

Memory: tracemalloc for tconv (NumPy reports its buffers to it; measured on a second call, after
caches); for torch and onnxruntime the growth of the process's peak resident memory over their
first call (Linux ``VmHWM``, reset before the call) minus the output — approximate, and ``None``
where it cannot be read.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass, field

import numpy as np

from tconv import api
from tconv.arguments import transpose_geometry
from tconv.bench.machine import blas_info, installed_version, numba_first_call, reset_hwm, rss_hwm, version
from tconv.bench.peers import onnxruntime_call, optional, torch_call
from tconv.bench.report import Machine, Report, Row, Timing, make_row, summarise
from tconv.errors import TConvError
from tconv.examples import LEARNER, Layer
from tconv.geometry import Geometry
from tconv.methods import choice, gemm_compiled, gemm_numpy
from tconv.plan import plan_geometry

__all__ = ["run", "LIBRARIES"]

#: The contestants, in the report's column order.
LIBRARIES = ("tconv", "torch", "onnxruntime")


@dataclass
class Case:
    """One layer, its arrays and geometry, and the contestants' callables (or why they are absent)."""

    layer: Layer
    geometry: Geometry
    x: np.ndarray
    w: np.ndarray
    calls: dict = field(default_factory=dict)  # library -> callable returning a NumPy-convertible array
    missing: dict = field(default_factory=dict)  # library -> reason
    first_s: dict = field(default_factory=dict)  # library -> seconds of the untimed call
    extra: dict = field(default_factory=dict)  # library -> extra bytes (or None)
    error: dict = field(default_factory=dict)  # library -> max |y − y_tconv| / max |y_tconv|
    samples: dict = field(default_factory=dict)  # library -> seconds per call, one per block


def _kwargs(layer: Layer) -> dict:
    return dict(stride=layer.stride, padding=layer.padding, output_padding=layer.output_padding, **layer.kwargs)


def _prepare(
    layers, method: str, peers: bool, threads: int, rng, arrangements: tuple[str, ...] = (), dtype: str = "float32"
) -> list[Case]:
    torch = optional("torch") if peers else None
    ort = optional("onnxruntime") if peers else None
    onnx = optional("onnx") if ort is not None else None
    if torch is not None:
        torch.set_num_threads(threads)
    cases = []
    for layer in layers:
        if np.dtype(dtype).kind in "iu":  # small integers: exact, and far from overflowing
            x = rng.integers(-9, 10, size=layer.input_shape).astype(dtype)
            w = rng.integers(-9, 10, size=layer.weight_shape).astype(dtype)
        else:
            x = rng.standard_normal(layer.input_shape, dtype=np.float32).astype(dtype)
            w = (rng.standard_normal(layer.weight_shape, dtype=np.float32) / math.sqrt(layer.weight_shape[0])).astype(
                dtype
            )
        kw = _kwargs(layer)
        g = transpose_geometry(x.shape, w.shape, **kw)
        case = Case(layer, g, x, w)
        case.calls["tconv"] = lambda x=x, w=w, kw=kw: api.conv_transpose(x, w, method=method, **kw)
        for how in arrangements:  # the fast path's arrangements, each forced, timed beside the rest
            if how not in choice.candidates(g, np.dtype(dtype).name):
                case.missing[f"tconv:{how}"] = "n/a"
            else:
                case.calls[f"tconv:{how}"] = lambda x=x, w=w, g=g, how=how: gemm_numpy.conv_transpose(
                    x, w, g, arrangement=how
                )
        for name, module in (("torch", torch), ("onnxruntime", ort)):
            if not peers:
                case.missing[name] = "not run"
            elif module is None or (name == "onnxruntime" and onnx is None):
                case.missing[name] = "not installed"
            else:
                try:
                    call, why = torch_call(torch, case) if name == "torch" else onnxruntime_call(ort, case, threads)
                except Exception as exc:  # a peer refusing a shape is a result, not a crash
                    call, why = None, f"n/a ({type(exc).__name__})"
                if call is None:
                    case.missing[name] = why
                else:
                    case.calls[name] = call
        cases.append(case)
    return cases


def _as_numpy(y) -> np.ndarray:
    return y.numpy() if hasattr(y, "numpy") and not isinstance(y, np.ndarray) else np.asarray(y)


def _warm(case: Case) -> None:
    """One untimed call each: memory, time of a call, and agreement with tconv."""
    out_bytes = math.prod(case.geometry.output_shape) * case.x.itemsize
    reference = scale = None
    for name, call in case.calls.items():
        if name.startswith("tconv"):
            call()  # first call: imports and caches, not part of a call's memory
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            t0 = time.perf_counter()
            y = call()
            case.first_s[name] = time.perf_counter() - t0
            extra: int | None = tracemalloc.get_traced_memory()[1] - base - out_bytes
            tracemalloc.stop()
        else:  # the first call: onnxruntime's arena grows then, and keeps what it took
            before = rss_hwm() if reset_hwm() else None
            y = call()
            after = rss_hwm()
            extra = None if before is None or after is None else after - before - out_bytes
            t0 = time.perf_counter()
            call()
            case.first_s[name] = time.perf_counter() - t0
        y = _as_numpy(y)
        if reference is None:
            reference, scale = y, float(np.max(np.abs(y))) or 1.0
        same = y.shape == reference.shape
        case.error[name] = float(np.max(np.abs(y - reference))) / scale if same else math.inf
        case.extra[name] = None if extra is None else max(0, int(extra))
        case.samples[name] = []
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


def time_block(call, calls: int, clock=time.perf_counter, pause: float = 0.0) -> float:
    """Seconds per call of a block of ``calls`` calls, after a ``pause`` (seconds, in which the
    previous library's idle threads stop spinning) and one untimed settling call (which wakes this
    library's threads)."""
    if pause:
        time.sleep(pause)
    call()
    t0 = clock()
    for _ in range(calls):
        call()
    return (clock() - t0) / calls


def _block_size(seconds: float, block_s: float) -> int:
    return max(1, min(1000, round(block_s / max(seconds, 1e-7))))


@contextlib.contextmanager
def blas_threads(threads: int):
    """Limit NumPy's BLAS (and tconv's col2im) to ``threads`` threads; yields whether BLAS was limited
    (``threadpoolctl`` installed)."""
    previous = gemm_numpy.set_num_threads(threads)
    try:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            yield False
            return
        with threadpool_limits(limits=threads, user_api="blas"):
            yield True
    finally:
        gemm_numpy.set_num_threads(previous)


def run(
    layers,
    *,
    method: str = "auto",
    repeat: int = 5,
    peers: bool = True,
    threads: int = 2,
    peak_size: int = 2048,
    progress: bool = True,
    seed: int = 0,
    block_s: float = 0.05,
    pause_s: float = 0.05,
    quick: bool = False,
    cpu_time: bool = False,
    arrangements: tuple[str, ...] = (),
    dtype: str = "float32",
) -> Report:
    """Time ``layers`` (:class:`~tconv.examples.Layer`) against the peers; return the :class:`Report`.

    Parameters
    ----------
    layers
        The layers to time.
    method
        tconv's method (``"auto"`` by default).
    repeat
        Rounds of blocks; each library's best block is kept.
    peers
        Time torch and onnxruntime too (when installed).
    threads
        Threads for every library.
    peak_size
        Side of the square float32 ``np.matmul`` that measures the matrix-product peak.
    progress
        Draw a progress bar on stderr.
    block_s
        Seconds a timed block aims at (at least one call).
    pause_s
        Seconds of sleep before each block when ``threads > 1`` (the other libraries' idle threads
        stop spinning meanwhile); not in quick runs.
    quick
        Mark the report as a smoke run: the report prints no ratios as results.
    cpu_time
        Time by the process's CPU time rather than the wall clock — only with ``threads=1``, where
        it is the time the call computed, and hardly moves when other processes load the machine.
    arrangements
        NumPy fast-path arrangements (``"compiled"`` included) to time too, each forced, as
        contestants ``tconv:NAME`` interleaved with the others.
    dtype
        The arrays' dtype (float32 by default; an integer dtype draws integers in ``[−9, 9]``).

    Raises
    ------
    TConvError
        ``cpu_time`` with more than one thread (CPU time would add up the threads' spinning).
    """
    if cpu_time and threads != 1:
        raise TConvError(f"CPU time measures one thread only; got threads={threads}")
    clock = time.process_time if cpu_time else time.perf_counter
    pause = pause_s if threads > 1 and not quick else 0.0
    rng = np.random.default_rng(seed)
    first_call = numba_first_call(np.dtype(dtype).name)  # before any tconv call compiles the loop
    with blas_threads(threads) as limited:
        cases = _prepare(layers, method, peers, threads, rng, tuple(arrangements), dtype)
        a = np.random.default_rng(1).standard_normal((peak_size, peak_size), dtype=np.float32)
        b = a.T.copy()
        total = len(cases) * (1 + repeat) + repeat
        done = 0
        for case in cases:
            _progress(done, total, f"{case.layer.name}: warm-up", progress)
            _warm(case)
            done += 1
        peak_samples = []
        for r in range(repeat):
            peak_samples.append(time_block(lambda: np.matmul(a, b), 1 if quick else 3, clock))
            done += 1
            for case in cases:
                _progress(done, total, f"{case.layer.name}: round {r + 1}", progress)
                names = list(case.calls)
                for name in names[r % len(names) :] + names[: r % len(names)]:  # rotate the order
                    call = case.calls[name]
                    calls = _block_size(case.first_s[name], block_s)
                    case.samples[name].append(time_block(call, calls, clock, pause))
                done += 1
        _progress(total, total, "done", progress)
        peak = 2 * peak_size**3 / min(peak_samples) / 1e9
        learner_us = _learner_us(method, 200 if quick else 2000, repeat)
        blas = blas_info()
    rows = [_row(case, method, peak) for case in cases]
    machine = Machine(
        cpus=os.cpu_count() or 1,
        processor=platform.processor() or platform.machine(),
        python=platform.python_version(),
        numpy=np.__version__,
        torch=version("torch") if peers else None,
        onnxruntime=version("onnxruntime") if peers else None,
        blas=blas,
        blas_threads_limited=limited,
        openblas_env={k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")},
        numba=installed_version("numba") if gemm_compiled.available() else None,
        numba_first_call=first_call,
    )
    return Report(
        machine=machine,
        method=method,
        repeat=repeat,
        threads=threads,
        quick=quick,
        clock="cpu" if cpu_time else "wall",
        peak_gflops=peak,
        peak_size=peak_size,
        learner_us=learner_us,
        dtype=np.dtype(dtype).name,
        layers=rows,
        summary=summarise(rows),
    )


def _row(case: Case, method: str, peak: float) -> Row:
    g, flops = case.geometry, 2 * case.geometry.macs
    results = {}
    for name in (*LIBRARIES, *(n for n in (*case.calls, *case.missing) if n.startswith("tconv:"))):
        if name in case.missing or name not in case.calls:
            results[name] = Timing(status=case.missing.get(name, "not run"))
            continue
        s = case.samples[name]
        best = min(s)
        results[name] = Timing(
            status="ok",
            ms=best * 1e3,
            noise=statistics.median(s) / best - 1,
            gflops=flops / best / 1e9,
            pct_peak=100 * flops / best / 1e9 / peak,
            extra_bytes=case.extra[name],
            rel_error=case.error[name],
        )
    elements = math.prod(g.input_shape) + math.prod(g.weight_shape) + math.prod(g.output_shape)
    return make_row(
        name=case.layer.name,
        cls=case.layer.note,
        geometry=g,
        padding=case.layer.padding,
        output_padding=case.layer.output_padding,
        gflop=flops / 1e9,
        intensity=flops / (4 * elements),
        method=api.choose_method(g) if method in ("auto", "measure") else method,
        arrangement=plan_geometry(g, method, case.x.dtype, measure=method == "measure").arrangement or "",
        results=results,
    )


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
