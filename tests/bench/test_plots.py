"""The benchmark's figures, drawn from synthetic results (no benchmark is run): plain tick labels on
log axes (``2``, not ``2×10⁰``), and a legend that covers no bar."""

from __future__ import annotations

from types import SimpleNamespace as NS

import pytest

pytest.importorskip("matplotlib")

from tconv.bench import report, scaling  # noqa: E402

LIBS = ("tconv", "torch", "onnxruntime")


def _timing(ms):
    return NS(ok=True, ms=ms)


def _grid():
    rows = [
        NS(name=f"layer{i}", cls=("small", "large", "1-D")[i % 3], ratio=r, noise=0.05)
        for i, r in enumerate((0.6, 0.85, 1.0, 1.3, 2.1, 0.95, 3.4))
    ]
    return NS(layers=rows, threads=2, clock="wall", dtype="float32", summary=NS(geomean=1.2, worst=3.4))


class _Scaling(NS):
    def gains(self):
        return {lib: {f"l{i}": 1.9 - 0.3 * j + 0.05 * i for i in range(4)} for j, lib in enumerate(LIBS)}


def _scaling():
    def sweep(xs):
        return NS(layers=[NS(results={lib: _timing(x * (1 + j)) for j, lib in enumerate(LIBS)}) for x in xs])

    layers = NS(layers=[NS(name=f"l{i}") for i in range(4)])
    return _Scaling(
        sweeps={
            "batch": ("batch", [1, 2, 4, 8], sweep([1, 2, 4, 8])),
            "size": ("size", [8, 16, 32], sweep([8, 16, 32])),
        },
        threads={1: layers, 2: layers},
    )


def _labels(axis) -> list[str]:
    return [t.get_text() for t in axis.get_ticklabels(which="both") if t.get_text()]


def test_grid_ticks_are_plain_numbers(tmp_path):
    fig = report.figure(_grid())
    fig.draw_without_rendering()
    labels = _labels(fig.axes[0].yaxis)
    assert labels and all("×" not in s and "^" not in s and "$" not in s for s in labels)
    assert "1" in labels and "2" in labels
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent()
    assert not any(legend.overlaps(p.get_window_extent()) for p in ax.patches)  # the legend covers no bar
    report.plot(_grid(), str(tmp_path / "grid.png"))
    assert (tmp_path / "grid.png").read_bytes()[:4] == b"\x89PNG"


def test_scaling_legend_covers_no_bar(tmp_path):
    fig = scaling.figure(_scaling())
    fig.draw_without_rendering()
    ax = fig.axes[-1]
    legend = ax.get_legend().get_window_extent()
    bars = [p.get_window_extent() for p in ax.patches]
    assert bars and not any(legend.overlaps(b) for b in bars)
    for sweep_ax in fig.axes[:-1]:
        assert all("×" not in s and "^" not in s for s in _labels(sweep_ax.yaxis))
    scaling.plot(_scaling(), str(tmp_path / "scaling.png"))
    assert (tmp_path / "scaling.png").read_bytes()[:4] == b"\x89PNG"
