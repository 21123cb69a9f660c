"""The study's quick run, once per test session: ``tconv study --quick`` as the docs show it, with
``--json`` and ``--out`` added so that its numbers and pictures can be read. Every test that needs a
real run shares this one (it takes tens of seconds), and all of them are marked ``slow``."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class QuickRun:
    """What one ``tconv study --quick --json --out DIR`` printed and wrote."""

    document: dict
    out: pathlib.Path


@pytest.fixture(scope="session")
def quick_study(tmp_path_factory) -> QuickRun:
    for module in ("torch", "sklearn", "matplotlib"):
        pytest.importorskip(module)
    out = tmp_path_factory.mktemp("study")
    run = subprocess.run(
        [sys.executable, "-m", "tconv", "study", "--quick", "--json", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    return QuickRun(json.loads(run.stdout), out)
