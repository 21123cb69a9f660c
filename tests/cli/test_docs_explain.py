"""``docs/explain.md`` runs: its Python examples as doctests, its ``$ tconv …`` and ``$ curl …`` blocks
re-run (the CLI in-process at 80 columns; curl against a test server), their output compared whole."""

import doctest
import pathlib
import re
import shlex
import urllib.error
import urllib.request

import pytest

from tconv.cli.main import main

DOC = pathlib.Path(__file__).parents[2] / "docs" / "explain.md"


def _runs():
    """Every ``$ command`` in a ```text block, with the lines it printed."""
    text = DOC.read_text(encoding="utf-8")
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


RUNS = list(_runs())


def test_python_examples():
    failures, tried = doctest.testfile(str(DOC), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert tried >= 8 and failures == 0


@pytest.mark.parametrize("command, want", [r for r in RUNS if r[0].startswith("tconv ")], ids=lambda v: str(v)[:60])
def test_tconv_runs(command, want, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(shlex.split(command)[1:]) == 0
    assert capsys.readouterr().out.rstrip("\n") == want


@pytest.mark.parametrize("command, want", [r for r in RUNS if r[0].startswith("curl ")], ids=lambda v: str(v)[:60])
def test_curl_runs(command, want):
    from tconv.serve.server import serve_in_thread

    url = shlex.split(command)[-1]
    srv, thread = serve_in_thread()
    try:
        url = url.replace("127.0.0.1:8765", f"127.0.0.1:{srv.server_address[1]}")
        try:
            body = urllib.request.urlopen(url, timeout=30).read().decode()
        except urllib.error.HTTPError as exc:
            body = exc.read().decode()
    finally:
        srv.shutdown()
        srv.server_close()
    assert body == want


def test_every_block_was_found():
    assert sum(c.startswith("tconv ") for c, _ in RUNS) == 2 and sum(c.startswith("curl ") for c, _ in RUNS) == 5
