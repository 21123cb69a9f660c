"""The tap map (:mod:`tconv.taps`) equals brute force: every (tap, input) pair that lands in the output."""

from __future__ import annotations

import pytest

from tconv.arguments import transpose_geometry
from tconv.taps import axis_taps, tap_map
from tests.geometries import random_cases


def _brute(i_size, o_size, k, s, d, b):
    """``{(t, i): o}`` for every tap ``t`` and input ``i`` with ``0 ≤ o = i·s + t·d − b < O``."""
    return {(t, i): i * s + t * d - b for t in range(k) for i in range(i_size) if 0 <= i * s + t * d - b < o_size}


@pytest.mark.parametrize("seed", range(40))
def test_tap_map_lists_exactly_the_pairs_that_land(seed):
    for case in random_cases(seed, 3):
        g = transpose_geometry(case.x_shape, case.weight_shape, **case.kwargs())
        for ax in tap_map(g):
            found = {}
            for tap in ax.taps:
                assert tap.t * ax.dilation - ax.begin == tap.shift * ax.stride + tap.phase
                assert 0 <= tap.phase < ax.stride and tap.lo < tap.hi
                outputs = range(ax.large)[ax.output_slice(tap)]
                found.update({(tap.t, i): o for i, o in zip(range(tap.lo, tap.hi), outputs, strict=True)})
            assert found == _brute(ax.small, ax.large, ax.kernel, ax.stride, ax.dilation, ax.begin)
            for p in ax.phases:  # a phase's taps: an arithmetic run in t and in shift
                assert p.size == len(range(p.phase, ax.large, ax.stride))
                assert all(tap.phase == p.phase for tap in p.taps)
                assert [tap.t for tap in p.taps] == list(range(p.taps[0].t, p.taps[-1].t + 1, p.step))
                assert [tap.shift for tap in p.taps] == [p.taps[0].shift + j * p.shift_step for j in range(len(p.taps))]
            assert ax.covered == (len({o % ax.stride for o in found.values()}) == min(ax.stride, ax.large))


def test_tap_map_is_cached_and_immutable():
    a = axis_taps(4, 8, 4, 2, 1, 1)
    assert a is axis_taps(4, 8, 4, 2, 1, 1)
    with pytest.raises(AttributeError):
        a.taps[0].t = 5  # type: ignore[misc]
