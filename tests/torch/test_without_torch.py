"""Without torch, ``import tconv.torch`` and the CLI's torch-only options say, in one line, how to
install it — the same hint, kept in one place (``tconv.errors.TORCH_INSTALL``).

Each case runs a fresh interpreter in which torch is hidden (``sys.modules['torch'] = None`` makes
``import torch`` fail as if it were not installed), so these tests run with or without torch."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

import tconv
from tconv.errors import TORCH_INSTALL

HIDE_TORCH = "import sys\nsys.modules['torch'] = None\n"


def last_line_of_stderr(code: str) -> str:
    """Run ``code`` with torch hidden; it must fail, and the last line of its stderr is returned."""
    src = str(pathlib.Path(tconv.__file__).parents[1])  # this checkout's tconv, whatever is installed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", HIDE_TORCH + code], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode != 0, done.stdout
    return done.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("module", ["tconv.torch", "tconv.torch.modules", "tconv.torch.ops"])
def test_import_without_torch_gives_the_install_hint(module):
    """The package and any of its modules: a ModuleNotFoundError whose one line says what to install."""
    assert last_line_of_stderr(f"import {module}") == (
        f"ModuleNotFoundError: tconv.torch needs torch ({TORCH_INSTALL})"
    )


def test_it_is_still_an_import_error_naming_torch():
    """``except ImportError`` and ``pytest.importorskip("tconv.torch")`` keep working."""
    code = (
        "try:\n    import tconv.torch\nexcept ImportError as e:\n"
        "    raise SystemExit(f'{type(e).__name__} name={e.name}')"
    )
    assert last_line_of_stderr(code) == "ModuleNotFoundError name=torch"


def test_the_cli_gives_the_same_hint():
    """``tconv bench --torch-layer`` without torch: the same hint, as a one-line CLI error."""
    code = "from tconv.cli.main import main; raise SystemExit(main(['bench', '--torch-layer', '--quick']))"
    assert last_line_of_stderr(code) == f"tconv: error: --torch-layer needs torch ({TORCH_INSTALL})"
