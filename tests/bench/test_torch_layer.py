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
