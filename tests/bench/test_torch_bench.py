"""``python -m tconv.torch.bench --quick`` runs: every layer checked equal to torch.nn, then timed.

Only the report's shape is tested (a ratio per layer and the geometric mean); times are never asserted.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("torch")

from tconv.torch import bench  # noqa: E402


def test_quick_run_reports_every_layer_and_the_geometric_mean(capsys):
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for layer in bench.QUICK_LAYERS:
        assert re.search(rf"^{layer.name} .*\d+\.\d\d\s+\d+\.\d\d\s+\d+\.\d\d", out, re.M), layer.name
    assert re.search(r"^geometric mean\s+\d+\.\d\d\s+\d+\.\d\d\s+\d+\.\d\d$", out, re.M)
