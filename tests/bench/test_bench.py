"""``tconv bench``: smoke runs (tiny shapes, one round) whose output must be well formed.

No timing is asserted — only that every layer was run, every contestant present agrees with tconv,
the summary is computed as documented, and the table, JSON and plot come out as documented.
"""

from __future__ import annotations

import importlib.util
import json
import math

import pytest

from tconv.arguments import transpose_geometry
from tconv.bench import harness, layers, report
from tconv.bench.report import Timing, make_row, summarise
from tconv.cli.main import main as tconv_main
from tconv.errors import TConvError
from tconv.methods import choice


@pytest.fixture(scope="module")
def quick_report():
    return harness.run(layers.QUICK_LAYERS[:4], repeat=2, peak_size=128, progress=False, block_s=0, quick=False)


def test_quick_json_is_a_smoke_run(capsys):
    assert tconv_main(["bench", "--quick", "--json", "--no-progress"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["repeat"] == 1 and data["quick"] is True and data["peak_gflops"] > 0 and data["threads"] == 2
    assert [r["name"] for r in data["layers"]] == [layer.name for layer in layers.QUICK_LAYERS]
    for row in data["layers"]:
        tconv = row["results"]["tconv"]
        assert tconv["ms"] > 0 and tconv["gflops"] > 0 and tconv["extra_bytes"] >= 0
        assert row["method"] == "gemm" and row["arrangement"]
        for peer in ("torch", "onnxruntime"):
            r = row["results"][peer]
            if importlib.util.find_spec(peer) is None:
                assert r["status"] == "not installed"
            elif r["status"] == "ok":
                assert r["ms"] > 0 and r["rel_error"] < 1e-4, (row["name"], peer, r)
            else:
                assert r["status"].startswith("n/a")


def test_quick_table_prints_no_ratios(capsys):
    assert tconv_main(["bench", "--quick", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "SMOKE RUN" in out and "geometric mean" not in out
    rows = [line.split("|") for line in out.splitlines() if line.startswith("| quick-")]
    ratio_column = out.splitlines()[0].split("|").index(" tconv/best ")
    assert rows and all(r[ratio_column].strip() == "—" for r in rows)


def test_ratio_is_against_the_best_peer_and_the_summary(quick_report):
    for row in quick_report.layers:
        peers = [row.results[p].ms for p in ("torch", "onnxruntime") if row.results[p].ok]
        if peers:
            assert row.ratio == pytest.approx(row.results["tconv"].ms / min(peers))
            assert row.best_peer in ("torch", "onnxruntime") and row.noise >= 0
        else:
            assert row.ratio is None
    s = quick_report.summary
    if s.geomean is not None:
        assert s.worst >= s.geomean and s.worst_layer in [r.name for r in quick_report.layers]
        assert sum(c.count for c in s.per_class.values()) == sum(1 for r in quick_report.layers if r.ratio)


def test_summary_on_made_up_rows():
    """The summary's arithmetic on rows with known times: geometric mean, worst, classes, peak, memory."""
    g = transpose_geometry((1, 512, 16, 16), (512, 256, 4, 4), stride=2, padding=1)
    rows = []
    for name, cls, t, p, o, pct, extra in [
        ("a", "x", 2.0, 1.0, 4.0, 80.0, 0),
        ("b", "x", 1.0, 2.0, 3.0, 50.0, 0),
        ("c", "y", 3.0, None, 1.0, 90.0, 10**9),
    ]:
        results = {
            "tconv": Timing(ms=t, noise=0.1, pct_peak=pct, extra_bytes=extra),
            "torch": Timing(ms=p, noise=0.2) if p else Timing(status="not installed"),
            "onnxruntime": Timing(ms=o, noise=0.0),
        }
        rows.append(
            make_row(
                name=name,
                cls=cls,
                geometry=g,
                results=results,
                padding=1,
                output_padding=0,
                gflop=1.0,
                intensity=100.0,
                method="gemm",
                arrangement="phases",
            )
        )
    assert [r.ratio for r in rows] == [2.0, 0.5, 3.0] and [r.best_peer for r in rows] == [
        "torch",
        "torch",
        "onnxruntime",
    ]
    s = summarise(rows)
    assert s.geomean == pytest.approx(math.exp((math.log(2) + math.log(0.5) + math.log(3)) / 3))
    assert (s.worst, s.worst_layer) == (3.0, "c") and s.per_class["x"].geomean == pytest.approx(1.0)
    assert s.compute_bound == 3 and s.compute_bound_min_pct == 50.0 and s.below_70_pct == ["b"]
    assert s.memory_over == ["c"] and s.max_noise == pytest.approx(0.2)


def test_table_is_markdown(quick_report):
    lines = report.table(quick_report).splitlines()
    header = [h.strip() for h in lines[0].split("|")[1:-1]]
    assert header[:6] == ["layer", "class", "input → output", "k/s/p", "GFLOP", "tconv ms"] and "tconv/best" in header
    rows = [line for line in lines[2:] if line.startswith("|")]
    assert len(rows) == 4 and all(len(r.split("|")) == len(lines[0].split("|")) for r in rows)
    assert any(line.startswith("Matrix-product peak") for line in lines)
    assert any(line.startswith("The learner") for line in lines) and quick_report.learner_us > 0


def test_custom_layer_and_no_progress_off_a_terminal(capsys):
    assert tconv_main(["bench", "--quick", "--layer", "2,4,5,5:6:3:2:1:1", "--no-peers"]) == 0
    out, err = capsys.readouterr()
    assert "2x4x5x5-6-k3s2p1op1" in out and "not run" in out
    assert "\r" not in err and "done" not in err  # stderr is not a terminal here: no progress frames


def test_parse_layer_and_bad_arguments():
    layer = layers.parse_layer("64,1024,16:512:25:4:same")
    assert layer.input_shape == (64, 1024, 16) and layer.padding == "same" and layer.weight_shape == (1024, 512, 25)
    with pytest.raises(TConvError, match="N,C,H,W:Cout:k:s:p"):
        layers.parse_layer("1,2:3")
    assert tconv_main(["bench", "--quick", "--layer", "nonsense"]) == 2
    assert tconv_main(["bench", "--threads", "0"]) == 2
    assert tconv_main(["bench", "--cpu-time"]) == 2  # CPU time of two threads would add up their spinning
    assert tconv_main(["bench", "--grid", "--only", "no-such-layer"]) == 2


def test_grid_covers_the_issue():
    """At least 40 layers, every class, the kernels decoders use, 1-D to 3-D, all valid geometries."""
    assert len(layers.GRID) >= 40 and len({l.name for l in layers.GRID}) == len(layers.GRID)
    assert {l.note for l in layers.GRID} == set(layers.CLASSES)
    kinds = {(l.kernel, l.stride) for l in layers.GRID}
    assert {(2, 2), (3, 2), (4, 2), (16, 8)} <= kinds
    assert {len(l.input_shape) for l in layers.GRID} == {3, 4, 5}
    for l in layers.GRID:
        transpose_geometry(l.input_shape, l.weight_shape, l.stride, l.padding, l.output_padding)


def test_plot_goes_where_asked(quick_report, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "sub" / "bench.png"
    report.plot(quick_report, str(tmp_path / "bench.png"))
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = tmp_path / "out" / "r.json"
    args = ["bench", "--quick", "--no-peers", "--layer", "1,2,3:2:2:2:0", "--plot", str(path), "--save", str(saved)]
    assert tconv_main(args) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(saved.read_text())["layers"][0]["name"] == "1x2x3-2-k2s2p0"


def test_missing_peers_say_not_installed(monkeypatch):
    monkeypatch.setattr(harness, "optional", lambda name: None)
    rep = harness.run(layers.QUICK_LAYERS[:1], repeat=1, peak_size=64, progress=False, block_s=0)
    row = rep.layers[0]
    assert row.results["torch"].status == "not installed" == row.results["onnxruntime"].status
    assert row.ratio is None and rep.summary.geomean is None
    assert "not installed" in report.table(rep)


def test_cpu_time_run():
    rep = harness.run(
        layers.QUICK_LAYERS[:2], repeat=2, peak_size=64, progress=False, block_s=0, threads=1, cpu_time=True
    )
    assert rep.clock == "cpu" and all(r.results["tconv"].ms >= 0 for r in rep.layers)
    assert "CPU time" in report.table(rep)


def test_threads_are_given_back():
    from tconv.methods import gemm_numpy

    before = gemm_numpy.set_num_threads(None)
    harness.run(layers.QUICK_LAYERS[:1], repeat=1, peak_size=64, progress=False, block_s=0, peers=False, threads=1)
    assert gemm_numpy.set_num_threads(before) is None


def test_scaling_quick(tmp_path):
    from tconv.bench import scaling

    result = scaling.run(repeat=1, threads=2, quick=True)
    assert set(result.sweeps) == {"batch", "channels", "size"} and sorted(result.threads) == [1, 2]
    text = scaling.table(result)
    assert "batch" in text and "time with 1 thread" in text
    if importlib.util.find_spec("matplotlib"):
        scaling.plot(result, str(tmp_path / "s.png"))
        assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


def test_threads_script_times_shared_and_split_and_restores_the_threshold():
    """``python -m tconv.bench.threads`` (measured in docs/performance.md): both ways timed, per layer."""
    pytest.importorskip("threadpoolctl")
    from tconv.bench import threads
    from tconv.bench.layers import QUICK_LAYERS
    from tconv.methods import gemm_tiles

    threshold = gemm_tiles.SPLIT_MIN
    rows = threads.measure(QUICK_LAYERS[:2], threads=2, rounds=1, pause_s=0.0)
    assert [layer.name for layer, _, _ in rows] == [layer.name for layer in QUICK_LAYERS[:2]]
    assert all(shared > 0 and split > 0 for _, shared, split in rows)
    assert gemm_tiles.SPLIT_MIN == threshold


def test_random_layers_are_reproducible_valid_and_bounded():
    drawn = layers.random_layers(40, seed=3)
    assert [l.name for l in drawn] == [l.name for l in layers.random_layers(40, seed=3)]
    assert [l.name for l in drawn] != [l.name for l in layers.random_layers(40, seed=4)]
    assert len({l.name for l in drawn}) == 40 and {l.note for l in drawn} == {"random"}
    assert {len(l.input_shape) - 2 for l in drawn} == {1, 2, 3}
    for layer in drawn:
        g = transpose_geometry(layer.input_shape, layer.weight_shape, **harness._kwargs(layer))
        assert 0 < 2 * g.macs <= layers.MAX_RANDOM_FLOP, layer.name


def test_random_grid_prints_its_seed(monkeypatch, capsys):
    asked = []
    monkeypatch.setattr(layers, "random_layers", lambda n, seed: asked.append((n, seed)) or layers.QUICK_LAYERS[:n])
    argv = ["bench", "--grid", "--random", "2", "--seed", "11", "--repeat", "1", "--no-peers", "--no-progress"]
    assert tconv_main(argv) == 0
    out = capsys.readouterr().out
    assert asked == [(2, 11)] and "--random 2 --seed 11" in out and "quick-k2s2" in out
    assert tconv_main(["bench", "--random", "2"]) == 2  # --random draws the grid's layers: needs --grid


def test_arrangements_are_timed_beside_tconv_and_numba_is_reported():
    run = harness.run(
        layers.QUICK_LAYERS[:3],
        repeat=1,
        peers=False,
        peak_size=64,
        progress=False,
        block_s=0,
        arrangements=("compiled", "channels_first", "reshape"),
    )
    numba = importlib.util.find_spec("numba") is not None
    for row in run.layers:
        compiled = row.results["tconv:compiled"]
        assert compiled.ok == numba and (not numba or compiled.rel_error < 1e-5)
        assert row.results["tconv:channels_first"].ok
        assert row.results["tconv:reshape"].ok == (row.name == "quick-k2s2")
    text = report.table(run)
    assert "quick-k4s2 arrangements: compiled" in text or not numba
    assert ("numba " + str(run.machine.numba)) in text if numba else "numba is not installed" in text


def test_integer_runs_take_the_compiled_loop_where_numba_is():
    run = harness.run(layers.QUICK_LAYERS[:2], repeat=1, peers=False, peak_size=64, progress=False, dtype="int64")
    numba = importlib.util.find_spec("numba") is not None
    assert run.dtype == "int64" and all(r.results["tconv"].ok for r in run.layers)
    assert {r.arrangement for r in run.layers} == ({"compiled"} if numba else {r.arrangement for r in run.layers})
    assert "int64" in report.table(run)


def test_tune_times_every_arrangement_against_the_rule(capsys, tmp_path):
    saved = tmp_path / "tune.json"
    args = ["bench", "--tune", "--quick", "--threads", "1", "--cpu-time", "--layer", "2,4,5,5:6:3:2:1:1"]
    assert tconv_main([*args, "--save", str(saved)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["layer", "rule", "fastest", "rule/fastest"]
    name, rule, fastest, loss = lines[1].split()[:4]
    assert name == "2x4x5x5-6-k3s2p1op1" and float(loss) >= 1.0
    g = transpose_geometry((2, 4, 5, 5), (4, 6, 3, 3), stride=2, padding=1, output_padding=1)
    assert rule == choice.rule(g, "float32").arrangement and fastest in choice.candidates(g, "float32")
    assert lines[-1].startswith("the rule's pick is the fastest (within 3 %) on ") and " of 1 layers" in lines[-1]
    (record,) = json.loads(saved.read_text())
    assert record["rule"] == rule and set(record["seconds"]) == set(choice.candidates(g, "float32"))


def test_bench_with_method_measure_reports_the_measured_arrangement(capsys):
    assert tconv_main(["bench", "--quick", "--no-peers", "--method", "measure", "--layer", "1,4,6,6:4:4:2:1"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| 1x4x6x6"))
    assert row.rstrip(" |").split("|")[-1].strip() in choice.candidates(
        transpose_geometry((1, 4, 6, 6), (4, 4, 4, 4), stride=2, padding=1), "float32"
    )


def test_no_numba_hides_the_compiled_arrangement_for_the_run(capsys):
    import subprocess
    import sys

    code = (
        "import sys; from tconv.cli.main import main; "
        "code = main(['bench', '--quick', '--no-peers', '--no-progress', '--no-numba', '--layer', '1,4,6,6:4:4:2:1']); "
        "from tconv.methods import gemm_compiled; print('available', gemm_compiled.available()); sys.exit(code)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "numba is not installed or hidden (--no-numba)" in out and "available False" in out
    row = next(line for line in out.splitlines() if line.startswith("| 1x4x6x6"))
    assert "compiled" not in row


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="numba is not installed (the fast extra)")
def test_the_report_says_how_the_compiled_loop_first_ran(capsys):
    assert tconv_main(["bench", "--quick", "--no-peers", "--no-progress", "--layer", "1,4,6,6:4:4:2:1"]) == 0
    out = capsys.readouterr().out
    assert (
        "the compiled arrangement is available" in out and "first calls (the loop and both col2im passes) took " in out
    )
    assert "numba's disk cache" in out
