"""Which arrangement the NumPy fast path runs: a rule anyone can check, or a measurement.

``gemm`` on NumPy arrays (:mod:`tconv.methods.gemm_numpy`) computes the same sum in one of a few
*arrangements* — the same product and col2im laid out differently — and which is fastest depends on
the layer. :func:`rule` picks one from the geometry in four lines, the way SciPy's
``choose_conv_method`` picks between direct and FFT convolution; :func:`measure` times every
arrangement that applies, once per geometry, dtype and thread setting, and remembers the fastest for
the process (cuDNN's benchmark mode, FFTW's planner). ``tconv.plan(..., measure=True)`` and
``tconv.conv_transpose(..., method="measure")`` use it.

The rule, in order:

1. **``compiled`` where numba's fused loop wins** (:func:`tconv.methods.gemm_compiled.wins`), when
   numba is installed (the ``fast`` extra): integers always (NumPy multiplies integer matrices
   without BLAS); floats on a tiny call (at most 2¹⁶ multiply-adds: NumPy's 5–30 calls dominate),
   or with 8–64 input channels per group, overlapping taps, a small weight (``C_in·C_out/G² ≤
   1024``) and at most 2²³ multiply-adds (the loop saves col2im's pass where BLAS is not yet at its
   best) — unless step 3's narrow image holds, where channels-last with the compiled col2im measured
   1.3–1.7× faster than the loop (s-32x8b4 and three random layers: all such layers timed).
2. **k = s, no overlap, no crop → ``reshape``**: each tap's product lands on its own output phase,
   so col2im is one strided copy per tap.
3. **a narrow image (last input axis ≤ 8), many output channels (``C_out/G ≥ 16``), a batch
   that outweighs the weight (``C_in/G ≤ 2·N·Πi``) and at least 2²⁰ multiply-adds →
   ``channels_last``**: col2im's slice additions run their inner loop along the last axis, which
   channels-first is the image width (1–8 here) and channels-last the output channels; the price is
   a copy of the weight and of the input, hence the last two conditions (below 2²⁰, s-16x8 —
   (1, 16, 8, 8) → 16, k4 s2 — ran 1.4× slower channels-last, s-32x8b4 at 2²¹ 0.9×).
4. **otherwise ``channels_first``**: one product per tile, then col2im — one compiled pass with
   numba (:func:`tconv.methods.gemm_col2im.col2im`), else NumPy's slice additions phase by phase.

Measured (1 thread, CPU time, every arrangement on the 44 grid layers and 100 random ones:
docs/performance.md, *Choosing the arrangement*), the rule's pick is the fastest arrangement, or
within a few per cent of it, on most layers; where it is not, ``measure`` finds the faster one
(mostly ``phases``, on few channels and large images, and ``separable``, on tiny calls).

>>> from tconv.arguments import transpose_geometry
>>> rule(transpose_geometry((8, 64, 32, 32), (64, 32, 4, 4), stride=2, padding=1)).arrangement
'channels_first'
>>> rule(transpose_geometry((8, 64, 32, 32), (64, 32, 2, 2), stride=2)).reason
'k = s without overlap or crop: one strided copy per tap'
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tconv.geometry import Geometry
from tconv.methods import gemm_col2im, gemm_compiled, gemm_tiles

__all__ = ["ARRANGEMENTS", "Choice", "rule", "candidates", "measure", "forget", "best_time"]

#: Every arrangement of the NumPy fast path (:mod:`tconv.methods.gemm_numpy`).
ARRANGEMENTS = ("reshape", "channels_first", "channels_last", "separable", "phases", "compiled")


@dataclass(frozen=True)
class Choice:
    """An arrangement and why: the rule that applied, or the measured times (seconds, fastest first)."""

    arrangement: str
    reason: str
    times: tuple[tuple[str, float], ...] = ()

    @property
    def measured(self) -> bool:
        """Whether the arrangement was timed rather than taken from the rule."""
        return bool(self.times)


def _reshape_applies(g: Geometry) -> bool:
    """``k = s`` on every axis, no dilation overlap, no crop and no output padding: the taps tile the output."""
    return all(
        k == s and (d == 1 or k == 1) and b == 0 for k, s, d, b in zip(g.kernel, g.stride, g.dilation, g.begin)
    ) and g.large == tuple(i * s for i, s in zip(g.small, g.stride))


def _narrow(g: Geometry) -> bool:
    """Step 3's condition: a narrow image, many output channels, a batch that outweighs the weight,
    at least 2²⁰ multiply-adds (module docstring)."""
    cig, cog, per_image = g.small_channels // g.groups, g.large_channels // g.groups, math.prod(g.small)
    return g.small[-1] <= 8 and cog >= 16 and cig <= 2 * (g.batch or 1) * per_image and g.macs >= 1 << 20


def _integer(dtype: str | None) -> bool:
    return dtype is not None and np.dtype(dtype).kind in "iu"


def rule(g: Geometry, dtype: str | None = None) -> Choice:
    """The rule's arrangement for geometry ``g`` (batched) and the compute ``dtype``'s name (module docstring).

    >>> from tconv.arguments import transpose_geometry
    >>> rule(transpose_geometry((64, 100, 1, 1), (100, 512, 4, 4))).arrangement   # DCGAN's first layer
    'channels_last'
    """
    narrow = _narrow(g)
    if dtype in gemm_compiled.DTYPES and gemm_compiled.wins(g, dtype) and gemm_compiled.available():
        if _integer(dtype):
            return Choice("compiled", "integers: numba's fused loop (NumPy has no BLAS for integer products)")
        if g.macs <= gemm_compiled.TINY_MACS:
            return Choice("compiled", "a tiny call: numba's one fused loop, not NumPy's 5-30 calls")
        if not narrow:
            return Choice("compiled", "8-64 input channels, overlapping taps: numba's fused loop, no col2im pass")
    if _reshape_applies(g):
        return Choice("reshape", "k = s without overlap or crop: one strided copy per tap")
    if narrow:
        return Choice("channels_last", "a narrow image (width ≤ 8), many channels: col2im runs along the channels")
    if dtype is not None and gemm_col2im.has_col2im(dtype):
        return Choice("channels_first", "one product per tile, then col2im in one compiled pass (numba)")
    return Choice("channels_first", "one product per tile, then col2im phase by phase")


def candidates(g: Geometry, dtype: str | None = None) -> tuple[str, ...]:
    """The arrangements that apply to ``g`` and ``dtype``: ``reshape`` only where the taps tile the
    output, ``separable`` only where the column buffer is one tile, ``compiled`` only with numba and a
    dtype it is compiled for."""
    item = np.dtype(dtype).itemsize if dtype is not None else 4
    one_tile = (g.batch or 1) * g.large_channels * g.taps * math.prod(g.small) * item <= gemm_tiles.WORKSPACE_BYTES
    compiled = dtype is not None and dtype in gemm_compiled.DTYPES and gemm_compiled.available()
    allowed = {"reshape": _reshape_applies(g), "separable": one_tile, "compiled": compiled}
    return tuple(a for a in ARRANGEMENTS if allowed.get(a, True))


def best_time(call: Callable[[], object], repeat: int = 3, block_s: float = 0.02, clock=time.perf_counter) -> float:
    """Seconds per call: one untimed call, then the best of ``repeat`` blocks of about ``block_s`` each."""
    call()
    t0 = clock()
    call()
    one = max(clock() - t0, 1e-7)
    calls = max(1, min(1000, round(block_s / one)))
    best = math.inf
    for _ in range(repeat):
        t0 = clock()
        for _ in range(calls):
            call()
        best = min(best, (clock() - t0) / calls)
    return best


_MEASURED: dict[tuple, Choice] = {}
_LOCK = threading.Lock()


def measure(g: Geometry, dtype: str, run: Callable[..., object], repeat: int = 3) -> Choice:
    """Time ``run(x, w, g, arrangement=a)`` for every arrangement ``a`` of :func:`candidates`, on arrays
    of ``g``'s shapes, and remember the fastest (``run`` is :func:`tconv.methods.gemm_numpy.conv_transpose`,
    passed in by the plan: the fast path reads its rule from here, so this module does not import it).

    The arrays are filled from a generator of their own (the global random state is untouched). The
    times are wall-clock, with the threads as the caller has set them (tconv's, and BLAS's), so the
    winner is remembered per geometry, dtype and that setting, for the life of the process
    (:func:`forget` clears it). A geometry is timed once however many threads ask at the same time.
    The caller checks that the call fits in memory first (:meth:`tconv.Plan.check`): each candidate
    allocates what the call does.
    """
    from tconv.resources import get_num_threads

    key = (g, np.dtype(dtype).name, get_num_threads(), gemm_tiles.blas_single_threaded())
    with _LOCK:  # one measurement at a time: two at once would time each other
        if key not in _MEASURED:
            rng = np.random.default_rng(0)
            x = rng.standard_normal((g.batch or 1, g.small_channels, *g.small)).astype(dtype)
            w = rng.standard_normal((g.small_channels, g.large_channels // g.groups, *g.kernel)).astype(dtype)
            times = {
                a: best_time(functools.partial(run, x, w, g, arrangement=a), repeat) for a in candidates(g, key[1])
            }
            ranked = tuple(sorted(times.items(), key=lambda kv: kv[1]))
            _MEASURED[key] = Choice(ranked[0][0], "measured", ranked)
        return _MEASURED[key]


def forget() -> None:
    """Forget every measured choice (the next :func:`measure` of each geometry times again)."""
    with _LOCK:
        _MEASURED.clear()
