"""``tconv bench --torch-layer --quick``: every layer checked equal to torch.nn, then timed.

Only the report's shape is tested (a row per layer, and no ratios in a smoke run); times are never asserted.
"""

from __future__ import annotations

import math

import pytest

pytest.importorskip("torch")

from tconv.bench import torch_layer  # noqa: E402
from tconv.cli.main import main as tconv_main  # noqa: E402


def test_run_and_table():
    results = torch_layer.run(torch_layer.QUICK_LAYERS[:3], repeat=2, threads=1, block_s=0)
    assert [r.layer.name for r in results] == [layer.name for layer in torch_layer.QUICK_LAYERS[:3]]
    for r in results:
        assert r.torch_ms > 0 and all(math.isfinite(v) and v > 0 for v in (r.forward, r.backward, r.total))
        assert r.noise >= 0 and len(r.samples["torch"]) == len(r.samples["tconv"]) == 2
    text = torch_layer.table(results, 2, 1)
    assert "geometric mean" in text and text.count("| quick-") == 3


def test_quick_cli_prints_no_ratios(capsys):
    assert tconv_main(["bench", "--quick", "--torch-layer"]) == 0
    out = capsys.readouterr().out
    assert "tconv.torch vs torch.nn" in out and "SMOKE RUN" in out and "geometric mean" not in out
    assert out.count("| quick-") == len(torch_layer.QUICK_LAYERS)
    assert tconv_main(["bench", "--torch-layer", "--only", "no-such-layer"]) == 2


def test_cli_takes_the_grid_random_layers_and_layer(capsys, monkeypatch):
    """--grid, --grid --random N --seed S and --layer choose the torch layer's table as they choose the
    NumPy bench's; the tables are shrunk to tiny layers here (only which layers ran is checked)."""
    from tconv.bench import layers

    tiny = [layers.QUICK_LAYERS[0], layers.QUICK_LAYERS[3]]
    monkeypatch.setattr(layers, "GRID", tiny)
    monkeypatch.setattr(layers, "random_layers", lambda count, seed: [tiny[seed % 2]] * count)
    timed = []
    real_run = torch_layer.run

    def run(chosen, **kwargs):
        timed.append([layer.name for layer in chosen])
        return real_run(chosen, **{**kwargs, "repeat": 1, "block_s": 0})

    monkeypatch.setattr(torch_layer, "run", run)
    common = ["bench", "--torch-layer", "--repeat", "1", "--threads", "1", "--cpu-time"]
    assert tconv_main([*common, "--grid"]) == 0
    assert tconv_main([*common, "--grid", "--only", "quick-1d"]) == 0
    assert tconv_main([*common, "--grid", "--random", "2", "--seed", "1"]) == 0
    assert tconv_main([*common, "--layer", "1,4,5,5:2:3:2:1:1"]) == 0
    assert timed == [["quick-k4s2", "quick-1d"], ["quick-1d"], ["quick-1d"] * 2, ["1x4x5x5-2-k3s2p1op1"]]
    out = capsys.readouterr().out
    assert "random layers: --random 2 --seed 1" in out and "CPU time" in out and out.count("geometric mean") == 4
    assert tconv_main(["bench", "--torch-layer", "--scaling"]) == 2
