"""``docs/explain.md`` and its Japanese walk-through ``docs/explain.ja.md`` run: their Python examples as
doctests, their ``$ tconv …`` and ``$ curl …`` blocks re-run (the CLI in-process at 80 columns; curl
against a test server), their output compared whole."""

import doctest
import pathlib
import re
import shlex
import urllib.error
import urllib.request

import pytest

from tconv.cli.main import main

DOCS = pathlib.Path(__file__).parents[2] / "docs"
#: Each page, with how many doctest examples, ``$ tconv`` and ``$ curl`` runs it has at least.
PAGES = {"explain.md": (8, 2, 5), "explain.ja.md": (10, 1, 0)}


def _runs(page: str):
    """Every ``$ command`` in a ```text block, with the lines it printed."""
    text = (DOCS / page).read_text(encoding="utf-8")
    for block in re.findall(r"```text\n(.*?)```", text, flags=re.S):
        command, lines = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command:
                    yield command, "\n".join(lines)
                command, lines = line[2:].replace(".venv/bin/tconv ", "tconv ", 1), []
            else:
                lines.append(line)
        if command:
            yield command, "\n".join(lines)


RUNS = [(page, *run) for page in PAGES for run in _runs(page)]


@pytest.mark.parametrize("page", PAGES)
def test_python_examples(page):
    failures, tried = doctest.testfile(str(DOCS / page), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert tried >= PAGES[page][0] and failures == 0


@pytest.mark.parametrize(
    "page, command, want", [r for r in RUNS if r[1].startswith("tconv ")], ids=lambda v: str(v)[:60]
)
def test_tconv_runs(page, command, want, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(shlex.split(command)[1:]) == 0
    assert capsys.readouterr().out.rstrip("\n") == want


@pytest.mark.parametrize(
    "page, command, want", [r for r in RUNS if r[1].startswith("curl ")], ids=lambda v: str(v)[:60]
)
def test_curl_runs(page, command, want):
    from tconv.serve.server import serve_in_thread

    url = shlex.split(command)[-1]
    srv, thread = serve_in_thread()
    try:
        url = url.replace("127.0.0.1:8765", f"127.0.0.1:{srv.server_address[1]}")
        try:
            body = urllib.request.urlopen(url, timeout=600).read().decode()
        except urllib.error.HTTPError as exc:
            body = exc.read().decode()
    finally:
        srv.shutdown()
        srv.server_close()
    assert body == want


@pytest.mark.parametrize("page", PAGES)
def test_every_block_was_found(page):
    runs = [c for p, c, _ in RUNS if p == page]
    assert sum(c.startswith("tconv ") for c in runs) == PAGES[page][1]
    assert sum(c.startswith("curl ") for c in runs) == PAGES[page][2]
