"""The tap map: on each spatial axis, which kernel tap lands on which output phase, from which inputs.

Per axis (input size ``I``, output size ``O``, kernel ``k``, stride ``s``, dilation ``d``, start crop
``b``; :mod:`tconv.geometry`), tap ``t`` sends input ``i`` to the output position

    o = i·s + off,    off = t·d − b = q₀·s + r,    0 ≤ r < s

so ``o = (i + q₀)·s + r``: the tap feeds only output *phase* ``r`` (the outputs ``o ≡ r (mod s)``,
``Q_r = ⌈(O − r)/s⌉`` of them), at position ``q = i + q₀`` of that phase. It is kept where
``0 ≤ o < O``, i.e. for the inputs ``i`` in ``[max(0, −q₀), min(I, Q_r − q₀))`` — a tap whose range
is empty lies wholly in the crop and is left out. The taps of one phase are
``t₀, t₀ + s', t₀ + 2s', …`` with ``s' = s/gcd(s, d)``, their shifts ``q₀`` growing by ``d' = d/gcd(s, d)``;
the kept ones are a run of them (the range shrinks as ``q₀`` moves away on either side).

Every method and arrangement reads these numbers from here: the slices of col2im
(:func:`tconv.methods.gemm_numpy.tap_slices`), the phases of ``phases`` and ``polyphase``, the 0/1
matrices of ``separable``, the compiled kernel's lists. They are built once per axis and cached.

>>> ax = axis_taps(small=2, large=4, kernel=4, stride=2, dilation=1, begin=1)   # k4 s2 p1: 2 → 4
>>> [(tap.t, tap.phase, tap.shift, tap.lo, tap.hi) for tap in ax.taps]
[(0, 1, -1, 1, 2), (1, 0, 0, 0, 2), (2, 1, 0, 0, 2), (3, 0, 1, 0, 1)]
>>> [(p.phase, p.size, [tap.t for tap in p.taps]) for p in ax.phases]
[(0, 2, [1, 3]), (1, 2, [0, 2])]
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

__all__ = ["Tap", "PhaseTaps", "AxisTaps", "axis_taps", "tap_map", "flat_index"]


@dataclass(frozen=True)
class Tap:
    """One kernel tap of one axis: ``off = t·d − b = shift·s + phase``; inputs ``[lo, hi)`` reach the output."""

    t: int
    phase: int
    shift: int
    lo: int
    hi: int

    @property
    def count(self) -> int:
        """How many inputs the tap sends into the output."""
        return self.hi - self.lo


@dataclass(frozen=True)
class PhaseTaps:
    """One output phase ``r`` of one axis: its ``size`` ``Q_r`` and its kept taps, in ``t`` order.

    ``taps[j].t = taps[0].t + j·step`` and ``taps[j].shift = taps[0].shift + j·shift_step``.
    """

    phase: int
    size: int
    taps: tuple[Tap, ...]
    step: int
    shift_step: int


@dataclass(frozen=True)
class AxisTaps:
    """The tap map of one axis: its sizes, its kept taps (``t`` order) and the phases they feed."""

    small: int
    large: int
    kernel: int
    stride: int
    dilation: int
    begin: int
    taps: tuple[Tap, ...]
    phases: tuple[PhaseTaps, ...]  # only the phases some tap feeds, by phase

    def first_output(self, tap: Tap) -> int:
        """The output position of the tap's first kept input: ``(lo + q₀)·s + r``."""
        return (tap.lo + tap.shift) * self.stride + tap.phase

    def output_slice(self, tap: Tap) -> slice:
        """The output positions the tap's inputs ``[lo, hi)`` land on: every ``s``-th from the first."""
        o0 = self.first_output(tap)
        return slice(o0, o0 + (tap.count - 1) * self.stride + 1, self.stride)

    @property
    def covered(self) -> bool:
        """Whether every phase of the output receives some tap (else some outputs stay zero)."""
        return len(self.phases) == min(self.stride, self.large)


@functools.lru_cache(maxsize=1024)
def axis_taps(small: int, large: int, kernel: int, stride: int, dilation: int, begin: int) -> AxisTaps:
    """The tap map of one axis (cached): for each tap ``t`` in ``0 … k−1``, ``off = t·d − b``,
    ``q₀ = ⌊off/s⌋``, ``r = off − q₀·s``, kept where ``max(0, −q₀) < min(I, ⌈(O − r)/s⌉ − q₀)``.

    >>> [(tap.t, tap.lo, tap.hi) for tap in axis_taps(3, 3, 3, 1, 1, 1).taps]   # k3 p1: the edges lose one
    [(0, 1, 3), (1, 0, 3), (2, 0, 2)]
    """
    s = stride
    taps = []
    for t in range(kernel):
        shift, phase = divmod(t * dilation - begin, s)
        size = -(-(large - phase) // s)
        lo, hi = max(0, -shift), min(small, size - shift)
        if lo < hi:
            taps.append(Tap(t, phase, shift, lo, hi))
    g = math.gcd(s, dilation)
    phases = tuple(
        PhaseTaps(r, -(-(large - r) // s), tuple(tap for tap in taps if tap.phase == r), s // g, dilation // g)
        for r in sorted({tap.phase for tap in taps})
    )
    return AxisTaps(small, large, kernel, stride, dilation, begin, tuple(taps), phases)


@functools.lru_cache(maxsize=256)
def tap_map(g) -> tuple[AxisTaps, ...]:
    """The tap map of every spatial axis of geometry ``g`` (a transposed :class:`~tconv.geometry.Geometry`).

    >>> from tconv.arguments import transpose_geometry
    >>> [len(ax.taps) for ax in tap_map(transpose_geometry((1, 1, 4, 4), (1, 1, 3, 2), stride=2))]
    [3, 2]
    """
    return tuple(
        axis_taps(i, o, k, s, d, b)
        for i, o, k, s, d, b in zip(g.small, g.large, g.kernel, g.stride, g.dilation, g.begin)
    )


def flat_index(taps, kernel: tuple[int, ...]) -> int:
    """The row-major flat index of one tap per axis (:class:`Tap`), the weight's own order of ``*k``.

    >>> flat_index((Tap(1, 0, 0, 0, 1), Tap(2, 0, 0, 0, 1)), (3, 4))   # (1, 2) of 3×4
    6
    """
    j = 0
    for tap, k in zip(taps, kernel):
        j = j * k + tap.t
    return j
