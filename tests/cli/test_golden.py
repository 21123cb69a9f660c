"""Golden outputs of the command line (as torchinfo tests its summaries): the text is the product.

Each case runs ``tconv`` in-process and compares its whole output with ``tests/golden/<name>.txt``.
After an intended change of the text, regenerate them and review the diff:

    TCONV_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/cli/test_golden.py

PyTorch's check is not run (the default; the cases also pass ``--no-torch``, which scripts still
use), so the files do not depend on the installed version; ``test_cli.py`` tests ``--torch``.
"""

import os
import pathlib
import re

import pytest

from tconv.cli.main import main
from tconv.explainer.layout import vlen

GOLDEN = pathlib.Path(__file__).parent / "golden"
UPDATE = os.environ.get("TCONV_UPDATE_GOLDEN") == "1"

CASES = {
    "explain_learner": [],
    "explain_stride2": ["explain", "--example", "stride2"],
    "explain_padding": ["explain", "--example", "padding"],
    "explain_output_padding": ["explain", "--example", "output_padding"],
    "explain_dilation": ["explain", "--example", "dilation"],
    "explain_1d": ["explain", "--example", "1d"],
    "explain_same": ["explain", "--example", "same"],
    "explain_pairs_floats": ["explain", "-x", "1 -2 0.5", "-w", "1 2", "-s", "3", "-p", "1:0"],
    "explain_big": [
        "explain",
        "-x",
        ";".join(" ".join(str((r * 7 + c * 3) % 5 - 2) for c in range(14)) for r in range(14)),
        "-w",
        "1 2 3; 4 5 6; 7 8 9",
        "-s",
        "2",
        "-p",
        "1",
    ],
    "explain_gemm_only": ["explain", "--example", "stride2", "--method", "gemm"],
    "shape_forward": ["shape", "--input", "64", "--kernel", "4", "--stride", "2", "--padding", "1"],
    "shape_2d_same": ["shape", "--input", "5,7", "--kernel", "3", "--stride", "2", "--padding", "same"],
    "shape_reverse": ["shape", "--input", "64", "--kernel", "3", "--stride", "2", "--output-size", "128"],
    "shape_reverse_none": ["shape", "--input", "4", "--kernel", "3", "--stride", "2", "--output-size", "20"],
    "artifacts_k3s2": ["artifacts", "--kernel", "3", "--stride", "2"],
    "artifacts_k4s2": ["artifacts", "--kernel", "4", "--stride", "2", "--size", "3"],
    "artifacts_k4s3": ["artifacts", "--kernel", "4", "--stride", "3", "--size", "3"],
    "artifacts_holes_1d": ["artifacts", "--kernel", "2", "--stride", "2", "--dilation", "2", "--ndim", "1"],
    # Japanese (--lang ja): the same numbers, every sentence from the Japanese catalogue
    "explain_ja_learner": ["--lang", "ja"],
    "explain_ja_stride2": ["explain", "--example", "stride2", "--lang", "ja"],
    "explain_ja_1d_padding": ["explain", "-x", "1 2 3", "-w", "1 10 100", "-s", "2", "-p", "1", "--lang", "ja"],
    "explain_ja_layer_groups": [
        "explain",
        "-x",
        "1 2 | 3 4",
        "-w",
        "1 1 | 2 0 | 1 -1 | 0 3",
        "-g",
        "2",
        "--lang",
        "ja",
    ],
    "shape_ja_forward": ["shape", "--input", "64", "--kernel", "4", "--stride", "2", "--padding", "1", "--lang", "ja"],
    "shape_ja_reverse": [
        "shape",
        "--input",
        "64",
        "--kernel",
        "3",
        "--stride",
        "2",
        "--output-size",
        "128",
        "--lang",
        "ja",
    ],
    "artifacts_ja_k3s2": ["artifacts", "--kernel", "3", "--stride", "2", "--lang", "ja"],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name, capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    argv = CASES[name]
    if not argv or argv[0] in ("explain", "--lang"):
        argv = argv + ["--no-torch"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    path = GOLDEN / f"{name}.txt"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with TCONV_UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_text_fits_80_columns(name):
    """Small examples fit an 80-column terminal; big ones are elided to fit too (a Japanese
    character takes two columns)."""
    path = GOLDEN / f"{name}.txt"
    if not path.exists():
        pytest.skip("golden file not generated yet")
    long = [line for line in path.read_text(encoding="utf-8").splitlines() if vlen(line) > 80]
    assert not long


def test_japanese_golden_has_the_english_numbers():
    """--lang ja changes the words, never the numbers: the grids of both texts are the same lines."""
    grids = {}
    for lang, name in (("en", "explain_stride2"), ("ja", "explain_ja_stride2")):
        text = (GOLDEN / f"{name}.txt").read_text(encoding="utf-8")
        grids[lang] = [" ".join(line.split()) for line in text.splitlines() if re.fullmatch(r"[\s\d\[\].·…-]+", line)]
    assert grids["en"] == grids["ja"] and len(grids["en"]) > 40
