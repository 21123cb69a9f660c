"""``tconv bench``: a smoke run (tiny shapes, one round) whose output must be well formed.

No timing is asserted — only that every layer was run, every contestant present agrees with tconv,
and the table, JSON and plot come out as documented.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from tconv.bench import harness as bench
from tconv.cli.main import main as tconv_main
from tconv.errors import TConvError


@pytest.fixture(scope="module")
def quick_report():
    return bench.run(bench.QUICK_LAYERS[:4], repeat=1, peak_size=128, progress=False, settle=0)


def test_quick_json(capsys):
    assert tconv_main(["bench", "--quick", "--json", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["repeat"] == 1 and report["peak_gflops"] > 0
    assert [r["name"] for r in report["layers"]] == [layer.name for layer in bench.QUICK_LAYERS]
    for row in report["layers"]:
        tconv = row["results"]["tconv"]
        assert tconv["ms"] > 0 and tconv["gflops"] > 0 and tconv["extra_bytes"] >= 0
        assert row["method"] == "gemm"
        for peer in ("torch", "onnxruntime"):
            r = row["results"][peer]
            if importlib.util.find_spec(peer) is None:
                assert r == {"status": "not installed"}
            elif "ms" in r:
                assert r["ms"] > 0 and r["rel_error"] < 1e-4, (row["name"], peer, r)
            else:
                assert r["status"].startswith("n/a")
        if "ms" in row["results"]["torch"]:
            assert row["ratio"] == pytest.approx(tconv["ms"] / row["results"]["torch"]["ms"])
    assert (
        report["summary"]["worst_ratio"] is None
        or report["summary"]["worst_ratio"] >= report["summary"]["geomean_ratio"]
    )


def test_table_is_markdown(quick_report):
    lines = bench.table(quick_report).splitlines()
    header = lines[0].split("|")[1:-1]
    assert [h.strip() for h in header][:5] == ["layer", "input → output", "k/s/p", "GFLOP", "tconv ms"]
    rows = [line for line in lines[2:] if line.startswith("|")]
    assert len(rows) == 4 and all(len(r.split("|")) == len(lines[0].split("|")) for r in rows)
    assert any(line.startswith("Matrix-product peak") for line in lines)
    assert any(line.startswith("The learner") for line in lines) and quick_report["learner_us"] > 0


def test_custom_layer_and_no_progress_off_a_terminal(capsys):
    assert tconv_main(["bench", "--quick", "--layer", "2,4,5,5:6:3:2:1:1", "--no-peers"]) == 0
    out, err = capsys.readouterr()
    assert "2x4x5x5-6-k3s2p1op1" in out and "not run" in out
    assert "\r" not in err and "done" not in err  # stderr is not a terminal here: no progress frames


def test_parse_layer():
    layer = bench.parse_layer("64,1024,16:512:25:4:same")
    assert layer.input_shape == (64, 1024, 16) and layer.padding == "same" and layer.weight_shape == (1024, 512, 25)
    with pytest.raises(TConvError, match="N,C,H,W:Cout:k:s:p"):
        bench.parse_layer("1,2:3")
    assert tconv_main(["bench", "--quick", "--layer", "nonsense"]) == 2


def test_plot(quick_report, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "bench.png"
    bench.plot(quick_report, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_peers_say_not_installed(monkeypatch):
    monkeypatch.setattr(bench, "_optional", lambda name: None)
    report = bench.run(bench.QUICK_LAYERS[:1], repeat=1, peak_size=64, progress=False, settle=0)
    row = report["layers"][0]
    assert row["results"]["torch"] == {"status": "not installed"} == row["results"]["onnxruntime"]
    assert row["ratio"] is None and report["summary"]["geomean_ratio"] is None
    assert "not installed" in bench.table(report)
