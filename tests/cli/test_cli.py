"""The ``tconv`` command line: subcommands, JSON, colour, and every error path (one line, exit 2).

Most tests call :func:`tconv.cli.main` in-process (fast); two run ``python -m tconv`` for real, to
see what a user sees when output is piped.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tconv.cli.main import main


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_no_arguments_explains_the_learner_example(capsys):
    code, out, err = run(["--no-torch"], capsys)
    assert code == 0 and err == ""
    assert "tconv explain learner" in out
    assert "[[2,2,0],[0,4,2],[0,0,2]]" in out  # the note from the seed
    for heading in (
        "Output size",
        "Scatter",
        "Zero insertion",
        "Matrix",
        "Polyphase",
        "Result",
        "Adjoint, not inverse",
    ):
        assert heading in out
    assert "the flip cannot be seen here" in out  # the learner's kernel hides trap 1 ...
    assert "padding does not pad it, it\n   crops it" in out  # ... and trap 2 is spelled out


def test_torch_line_names_the_version(capsys):
    torch = pytest.importorskip("torch")
    code, out, _ = run(["explain", "--example", "stride2", "--torch"], capsys)
    assert code == 0
    assert f"PyTorch {torch.__version__}: torch.nn.functional.conv_transpose2d(x, w, stride=2," in out
    assert "gives the same" in out


@pytest.mark.parametrize("flags", [[], ["--no-torch"]], ids=["default", "--no-torch"])
def test_by_default_the_torch_line_spells_the_call_without_running_it(flags, capsys):
    code, out, _ = run(["explain", "--example", "stride2", *flags], capsys)
    assert code == 0
    assert "PyTorch: torch.nn.functional.conv_transpose2d(x, w, stride=2," in out
    assert "not run (tconv explain --torch" in " ".join(out.split())


def test_torch_and_no_torch_together_are_refused(capsys):
    code, out, err = run(["explain", "--torch", "--no-torch"], capsys)
    assert code == 2 and "--no-torch: not allowed with argument --torch" in err and err.count("\n") == 1


#: Subcommands at their start: none needs torch, matplotlib or Pillow unless it draws or runs torch.
LIGHT = {
    "explain": ["explain", "--example", "stride2"],
    "explain --json": ["explain", "--json"],
    "explain --out .txt": ["explain", "--out", "{tmp}/steps.txt"],
    "shape": ["shape", "--input", "64", "--kernel", "3", "--stride", "2", "--output-size", "128"],
    "artifacts": ["artifacts", "--kernel", "3", "--stride", "2"],
    "convert": ["convert", "--from", "keras", "--to", "jax", "--kernel", "3", "--stride", "2", "--padding", "same"],
    "serve --help": ["serve", "--help"],
    "study --help": ["study", "--help"],
    "bench --help": ["bench", "--help"],
}


@pytest.mark.parametrize("name", sorted(LIGHT))
def test_subcommands_import_no_torch_or_plotting_unless_they_need_it(name, tmp_path):
    argv = [a.format(tmp=tmp_path) for a in LIGHT[name]]
    code = (
        "import contextlib, io, sys\n"
        "from tconv.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        code = main({argv!r})\n"
        "    except SystemExit as exc:\n"
        "        code = exc.code\n"
        "print(code, sorted(m for m in ('matplotlib', 'PIL', 'torch') if m in sys.modules))"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert p.stdout.split(None, 1) == ["0", "[]\n"], p.stdout + p.stderr


def test_json_has_output_shape_and_steps(capsys):
    code, out, _ = run(
        ["explain", "-x", "1 2; 3 4", "-w", "1 2 3; 4 5 6; 7 8 9", "-s", "2", "-p", "1", "--json", "--no-torch"], capsys
    )
    d = json.loads(out)
    assert code == 0
    assert d["output"] == [[5, 14, 10], [14, 36, 24], [15, 34, 20]] and d["output_shape"] == [3, 3]
    assert d["steps"]["scatter"]["stamps"][1]["at"] == [0, 2]
    assert d["steps"]["zero_insert"]["flipped"] == [[9, 8, 7], [6, 5, 4], [3, 2, 1]]
    assert d["steps"]["result"]["methods"] == dict.fromkeys(
        ["scatter", "zero_insert", "matrix", "gemm", "polyphase"], True
    )


def test_per_axis_arguments_and_method(capsys):
    code, out, _ = run(
        [
            "explain",
            "-x",
            "1 2 3; 4 5 6",
            "-w",
            "1 0; 2 1",
            "-s",
            "2,1",
            "-d",
            "1,2",
            "-p",
            "0,1",
            "--output-padding",
            "1,0",
            "--method",
            "polyphase",
            "--json",
            "--no-torch",
        ],
        capsys,
    )
    d = json.loads(out)
    assert code == 0 and set(d["steps"]) == {"shape", "polyphase", "result", "adjoint"}
    import tconv

    want = tconv.conv_transpose(
        [[[[1, 2, 3], [4, 5, 6]]]],
        [[[[1, 0], [2, 1]]]],
        stride=(2, 1),
        dilation=(1, 2),
        padding=(0, 1),
        output_padding=(1, 0),
    )
    assert d["output"] == want[0, 0].tolist()


def test_colour_only_when_asked_or_on_a_terminal(capsys, monkeypatch):
    from tconv.explainer.text import use_colour

    code, out, _ = run(["--no-torch", "--color", "always"], capsys)
    assert "\x1b[" in out
    code, out, _ = run(["--no-torch"], capsys)  # captured: not a terminal
    assert "\x1b[" not in out

    class Tty:
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_colour(Tty())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(Tty())


def test_out_text_and_json_files(tmp_path, capsys):
    assert main(["--no-torch", "--out", str(tmp_path / "a.txt")]) == 0
    assert (tmp_path / "a.txt").read_text(encoding="utf-8").startswith("tconv explain learner")
    assert main(["--no-torch", "--out", str(tmp_path / "a.json")]) == 0
    assert json.loads((tmp_path / "a.json").read_text())["output_shape"] == [3, 3]


def test_shape_subcommand(capsys):
    code, out, _ = run(
        ["shape", "--input", "64", "--kernel", "3", "--stride", "2", "--output-size", "128", "--json"], capsys
    )
    ax = json.loads(out)["axes"][0]
    assert code == 0 and ax["torch"] == [[1, 1]] and ax["tconv_pairs"] == [[0, 1], [1, 0]] and ax["same"]
    code, out, _ = run(["shape", "-i", "7", "-k", "4", "-s", "3", "-p", "2", "--output-padding", "2", "--json"], capsys)
    assert json.loads(out)["output_size"] == [(7 - 1) * 3 + 4 - 4 + 2]


def test_shape_reverse_solutions_really_give_the_size():
    from tconv import output_shape
    from tconv.explainer.shape import tconv_pairs, torch_solutions

    for i, k, s, d in [(5, 3, 2, 1), (8, 4, 2, 1), (3, 5, 3, 2), (10, 1, 4, 1)]:
        full = (i - 1) * s + d * (k - 1) + 1
        for want in range(1, full + s + 1):
            for p, op in torch_solutions(full, want, s, d):
                assert output_shape((1, 1, i), (1, 1, k), s, p, op, 1, d)[-1] == want
            for b, e in tconv_pairs(full, want):
                assert output_shape((1, 1, i), (1, 1, k), s, [(b, e)], 0, 1, d)[-1] == want


def test_artifacts_subcommand(capsys):
    code, out, _ = run(["artifacts", "-k", "3", "-s", "2", "--json"], capsys)
    d = json.loads(out)
    assert code == 0 and d["tile"] == [[4, 2], [2, 1]] and not d["even"]
    code, out, _ = run(["artifacts", "-k", "4,2", "-s", "2", "--json"], capsys)
    assert json.loads(out)["even"]


def test_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0
    for name in ("explain", "shape", "artifacts", "bench", "convert"):
        assert name in out


ERRORS = [
    (["explain", "-x", "1 2; 3", "-w", "1"], "ragged matrix: row 2 has 1 value, row 1 has 2"),
    (["explain", "-x", "1 a", "-w", "1"], "--input: 'a' is not a number"),
    (
        ["explain", "-x", "1 2", "-w", "1 0; 0 1"],
        "input has shape (2,) and kernel (2, 2); explain takes one channel: input (W) with kernel (kW), or (H, W)",
    ),
    (["explain", "-x", "1 2"], "give both --input and --kernel"),
    (["explain", "-x", "1 2", "-w", "1", "--example", "1d"], "not both"),
    (["explain", "--example", "nope"], "invalid choice: 'nope'"),
    (["explain", "-x", "1 2", "-w", "1 1", "-s", "0"], "stride=0 must be positive"),
    (["explain", "-x", "1 2", "-w", "1 1", "-s", "two"], "--stride: 'two' must be a whole number"),
    (
        ["explain", "-x", "1 2", "-w", "1 1", "-s", "2", "--output-padding", "2"],
        "output_padding=(2,) must be smaller than stride",
    ),
    (["explain", "-x", "1 2", "-w", "1 1", "-p", "5"], "the output would be empty"),
    (["explain", "-x", "1 2", "-w", "1 1", "-p", "middle"], "--padding: 'middle' must be a whole number"),
    (["explain", "-x", "1 2", "-w", "1 1", "-p", "1:2:3"], "must be begin:end"),
    (["explain", "-x", "1 2", "-w", "1 1", "--method", "fft"], "method='fft' is not one of"),
    (["explain", "--out", "x.bmp"], "unknown file type"),
    (["explain", "--out", "README.md/x.txt"], "README.md"),  # a folder that is a file
    (["explain", "--bogus"], "unrecognized arguments: --bogus"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["shape", "--input", "4"], "the following arguments are required: --kernel"),
    (["shape", "-i", "4,4", "-k", "3,3,3"], "--input 4,4 and --kernel 3,3,3 give different numbers of axes (2, 3)"),
    (["shape", "-i", "0", "-k", "3"], "must be positive sizes"),
    (["shape", "-i", "4", "-k", "3", "--output-size", "0"], "must give one positive size"),
    (["artifacts", "-k", "3"], "required: --stride"),
    (["artifacts", "-k", "3", "-s", "0"], "--stride 0 must be positive"),
    (["artifacts", "-k", "3,3", "-s", "2,2,2"], "different numbers of axes"),
    (["artifacts", "-k", "3", "-s", "2", "--out", "a.gif"], "the artifacts picture is .png or .svg"),
]


@pytest.mark.parametrize("argv, message", ERRORS, ids=[" ".join(a) for a, _ in ERRORS])
def test_errors_are_one_line_and_exit_2(argv, message, capsys):
    code, out, err = run(argv + (["--no-torch"] if argv[0] == "explain" else []), capsys)
    assert code == 2 and out == ""
    assert err.startswith("tconv: error: ") and err.count("\n") == 1, err
    assert message in err


def test_missing_plot_extra_is_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    code, out, err = run(["--no-torch", "--out", str(tmp_path / "x.png")], capsys)
    assert code == 2 and "pip install 'tconv[plot]'" in err and err.count("\n") == 1
    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    code, out, err = run(["--no-torch", "--out", str(tmp_path / "x.gif")], capsys)
    assert code == 2 and "Pillow" in err and not (tmp_path / "x.gif").exists()


def _tconv(*args, **env):
    return subprocess.run(
        [sys.executable, "-m", "tconv", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONIOENCODING": "utf-8", **env},
        timeout=600,
    )


def test_piped_output_is_plain_and_import_stays_light():
    p = _tconv("--no-torch", "--color", "auto")
    assert p.returncode == 0 and "\x1b[" not in p.stdout and p.stdout.startswith("tconv explain learner")
    p = _tconv("explain", "-x", "1 2;3", "-w", "1")
    assert p.returncode == 2 and p.stderr.startswith("tconv: error:") and "Traceback" not in p.stderr
    code = "import sys, tconv, tconv.cli.main, tconv.explainer.steps, tconv.explainer.text; print(sorted(m for m in ('matplotlib', 'PIL', 'torch') if m in sys.modules))"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert p.stdout.strip() == "[]", p.stderr


def test_explanation_numbers_are_the_cores(capsys):
    """The text shows the core's numbers: the learner's result as the notes give it."""
    code, out, _ = run(["--no-torch", "--json"], capsys)
    assert np.array_equal(json.loads(out)["output"], [[2, 2, 0], [0, 4, 2], [0, 0, 2]])


def test_out_makes_its_folder(capsys, tmp_path):
    target = tmp_path / "new" / "folder" / "steps.json"
    code, out, _ = run(["--out", str(target)], capsys)
    assert code == 0 and json.loads(target.read_text())["output"] == [[2, 2, 0], [0, 4, 2], [0, 0, 2]]


@pytest.mark.parametrize(
    "argv, name",
    [
        (["explain", "--example", "stride2"], "steps.png"),
        (["explain", "--example", "stride2"], "steps.txt"),
        (["artifacts", "--kernel", "3", "--stride", "2"], "artifacts.png"),
        (["artifacts", "--kernel", "3", "--stride", "2"], "artifacts.svg"),
    ],
)
def test_every_out_writes_into_a_folder_not_made_yet(argv, name, capsys, tmp_path):
    """As the pages' ``--out out/steps.png`` on a fresh clone: the missing folder is made."""
    if name.endswith((".png", ".svg")):
        pytest.importorskip("matplotlib")
    target = tmp_path / "out" / name
    code, out, err = run([*argv, "--out", str(target)], capsys)
    assert code == 0 and err == "" and target.stat().st_size > 0 and out == f"tconv: wrote {target}\n"
