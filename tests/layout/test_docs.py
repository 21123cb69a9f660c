"""The README and ``docs/`` as a user reads them: every link leads somewhere, and every ``tconv``
command shown runs as written (from the repository's root, after the README's set-up) and prints
what the page says it prints.

Python examples in the pages are doctests (pytest collects ``*.md``); this file covers the shell.
"""

from __future__ import annotations

import doctest
import importlib.util
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

from tconv.cli.main import parser

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TCONV = ".venv/bin/tconv"
#: Commands that serve forever or run for minutes are parsed, not run, here (their own tests run them).
LONG = ("serve", "study", "bench")

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def _blocks(page: pathlib.Path):
    for m in FENCE.finditer(page.read_text(encoding="utf-8")):
        yield m.group(1), m.group(2)


def commands():
    """``(page, command, expected output or None)`` for every ``tconv`` command on the pages."""
    found = []
    for page in PAGES:
        for lang, body in _blocks(page):
            if lang == "console":  # "$ command" lines, each followed by its output
                for chunk in re.split(r"^\$ ", body, flags=re.M)[1:]:
                    command, _, output = chunk.partition("\n")
                    if command.startswith(TCONV):
                        found.append((page.name, command, output))
            elif lang in ("sh", "bash"):
                for line in body.splitlines():
                    for command in line.split("&&"):
                        if command.strip().startswith(TCONV):
                            found.append((page.name, command.strip(), None))
    return found


def test_every_link_leads_somewhere():
    missing = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if not re.match(r"[a-z]+://", target) and not (page.parent / target).exists():
                missing.append(f"{page.name}: {target}")
    assert missing == []


def test_the_pages_show_commands():
    assert any(page == "README.md" for page, _, _ in commands())


@pytest.mark.parametrize("page, command, expected", commands(), ids=lambda v: v if isinstance(v, str) else "")
def test_command_runs_as_written(page, command, expected, tmp_path):
    argv = shlex.split(command, comments=True)
    if len(argv) > 1 and argv[1] in LONG and not (argv[1] == "bench" and "--quick" in argv):
        # Serving forever or training for minutes: here the command is parsed as written (a wrong
        # option fails), and its own tests run it — the study's quick run once, in tests/study (slow).
        parser().parse_args(argv[1:])
        return
    for extra in ("torch", "matplotlib"):
        if importlib.util.find_spec(extra) is None:
            pytest.skip(f"the page's set-up installs {extra}")
    # The pages write under out/ (ignored by git); the command makes that folder when it is missing.
    run = subprocess.run([sys.executable, "-m", "tconv", *argv[1:]], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, f"{page}: {command}\n{run.stderr}"
    if expected is not None and expected.strip():
        checker = doctest.OutputChecker()
        assert checker.check_output(expected, run.stdout, doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE), (
            f"{page}: {command}\n--- the page shows:\n{expected}\n--- it printed:\n{run.stdout}"
        )


def test_the_architecture_page_names_every_room():
    """Every package, module and test folder has its line in ``docs/architecture.md``."""
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rooms = [
        p.name + ("/" if p.is_dir() else "")
        for p in (ROOT / "src" / "tconv").iterdir()
        if p.name not in ("__pycache__", "py.typed")
    ]
    rooms += [f"tests/{p.name}" for p in (ROOT / "tests").iterdir() if p.is_dir() and p.name != "__pycache__"]
    assert [room for room in sorted(rooms) if f"`{room}" not in page] == []
