"""The web API: the CLI's JSON for the same arguments, 400 naming the parameter, 404, 414, concurrency."""

import json
import threading
from urllib.parse import quote, urlencode

import pytest

from tconv.cli.main import main
from tests.serve.conftest import get, get_json

CASES = [
    ({"input": "1 2; 3 4", "kernel": "1 2 3; 4 5 6; 7 8 9", "stride": "2", "padding": "1"}),
    ({"input": "1 -2 0.5", "kernel": "1 2", "stride": "3", "padding": "1:0"}),
    ({"input": "1 2 3", "kernel": "1 10 100", "stride": "2", "padding": "same", "method": "zero_insert"}),
    ({"input": "1 2; 3 4", "kernel": "1 2; 3 4", "dilation": "2", "output_padding": "1", "stride": "1"}),
    ({"input": "1 2 | 3 4", "kernel": "1 1 | 2 0 | 1 -1 | 0 3", "groups": "2"}),
    ({"example": "stride2"}),
    ({}),
]


@pytest.mark.parametrize("query", CASES, ids=[urlencode(q) or "no-arguments" for q in CASES])
def test_api_is_the_cli_json(server, query, capsys):
    status, got = get_json(f"{server}/api/explain?{urlencode({**query, 'no_torch': '1'})}")
    argv = ["explain", "--json", "--no-torch"]
    for k, v in query.items():
        argv.append(f"--{k.replace('_', '-')}={v}")
    assert main(argv) == 0
    want = json.loads(capsys.readouterr().out)
    assert status == 200 and got == want


DEFAULT_CASES = CASES[:2] + CASES[-2:]


@pytest.mark.parametrize("query", DEFAULT_CASES, ids=[urlencode(q) or "no-arguments" for q in DEFAULT_CASES])
def test_api_by_default_is_the_cli_default_json_without_torch(server, query, capsys):
    """No torch parameter: the CLI's default, PyTorch's check not run (the CLI's JSON, byte for byte)."""
    status, _, body = get(f"{server}/api/explain?{urlencode(query)}")
    assert main(["explain", "--json", *(f"--{k.replace('_', '-')}={v}" for k, v in query.items())]) == 0
    assert status == 200 and body.decode() == capsys.readouterr().out.rstrip("\n")
    torch = json.loads(body)["steps"]["result"]["torch"]
    assert not torch["available"] and torch["reason"].startswith("not run")


@pytest.mark.parametrize(
    "flags", ["torch=0", "no_torch=1", "torch=0&no_torch=1", "torch=&no_torch=yes", "no_torch=false"]
)
def test_torch_flags_that_do_not_ask_for_the_check_give_the_default(server, flags):
    _, want = get_json(f"{server}/api/explain?input=1+2&kernel=1+1")
    status, got = get_json(f"{server}/api/explain?input=1+2&kernel=1+1&{flags}")
    assert status == 200 and got == want


def test_api_with_torch_is_the_cli_json(server, capsys):
    pytest.importorskip("torch")
    status, got = get_json(f"{server}/api/explain?input=1+2&kernel=1+10+100&stride=2&torch=1")
    assert main(["explain", "--json", "--torch", "-x", "1 2", "-w", "1 10 100", "-s", "2"]) == 0
    assert status == 200 and got == json.loads(capsys.readouterr().out)
    assert got["steps"]["result"]["torch"]["equal"]


BAD = [
    ("input=1+2&kernel=1&stride=two", "stride: 'two' must be a whole number"),
    ("input=1+2;3&kernel=1", "input: ragged matrix: row 2 has 1 value, row 1 has 2"),
    ("input=1+a&kernel=1", "input: 'a' is not a number"),
    ("input=1+2", "kernel: give both input and kernel"),
    ("input=1+2&kernel=1+1&stride=0", "stride=0 must be positive"),
    ("input=1+2&kernel=1+1&padding=5", "the output would be empty"),
    ("input=1+2&kernel=1+1&padding=1:2:3", "padding: '1:2:3' must be begin:end"),
    ("input=1+2&kernel=1+1&method=fft", "method='fft' is not one of"),
    ("input=1+2&kernel=1+1&stride=2&output_padding=2", "output_padding=(2,) must be smaller than stride"),
    ("input=1+2&kernel=1+1&colour=red", "colour: unknown parameter"),
    ("input=1+2&kernel=1+1&stride=1&stride=2", "stride: given 2 times"),
    ("example=nope", "example: 'nope' is not one of"),
    ("input=1+2+|+3+4&kernel=1+1+|+1+1+|+1+1", "kernel: 3 kernel blocks for 2 input channels"),
    ("input=1+2&kernel=1+1&groups=2", "groups"),
    ("input=1+2&kernel=1+1&torch=1&no_torch=1", "no_torch: not allowed with torch=1"),
    ("input=1+2&kernel=1+1&torch=maybe", "torch: 'maybe' must be 1 or 0"),
    ("input=1+2&kernel=1+1&no_torch=2", "no_torch: '2' must be 1 or 0"),
]


@pytest.mark.parametrize("query, message", BAD, ids=[q for q, _ in BAD])
def test_bad_input_is_400_naming_the_parameter_and_the_server_keeps_serving(server, query, message):
    status, body = get_json(f"{server}/api/explain?{query}")
    assert status == 400 and set(body) == {"error"} and message in body["error"], body
    status, body = get_json(f"{server}/api/explain?input=1&kernel=1&no_torch=1")
    assert status == 200 and body["output"] == [1]


def test_oversized_input_is_refused_before_any_work(server):
    # 15,000 values each: a request line under 65,536 bytes, but 225 million multiplications
    many = "+".join(["1"] * 15000)
    status, body = get_json(f"{server}/api/explain?input={many}&kernel={many}")
    assert status == 400 and "the explainer takes at most 1,048,576" in body["error"], body
    status, body = get_json(f"{server}/api/explain?input=1+2&kernel=1+1&dilation=300000")
    assert status == 400 and "full output F would be" in body["error"]
    # 90,000 values: over the CLI's limit of 65,536 elements, and over the request line's 65,536 bytes
    huge = quote(";".join(" ".join(["1"] * 300) for _ in range(300)))
    status, body = get_json(f"{server}/api/explain?input={huge}&kernel=1")
    assert status == 414 and "too big" in body["error"]
    status, body = get_json(f"{server}/api/explain?input=1&kernel=1&no_torch=1")
    assert status == 200


def test_the_element_limit_is_the_clis():
    from tconv.errors import TConvError
    from tconv.serve.api import explain_json

    with pytest.raises(TConvError, match="input has 70,000 values: the explainer takes at most 65,536"):
        explain_json("input=" + "+".join(["1"] * 70000) + "&kernel=1")
    assert main(["explain", "-x", " ".join(["1"] * 70000), "-w", "1"]) == 2


def test_unknown_paths_are_404_and_assets_are_served(server):
    status, body = get_json(f"{server}/nothing/here")
    assert status == 404 and "not found" in body["error"]
    status, kind, body = get(f"{server}/static/explain.js")
    assert status == 200 and kind.startswith("text/javascript") and b"tconvExplain" in body
    status, kind, body = get(f"{server}/static/../pyproject.toml")
    assert status == 404
    status, kind, body = get(f"{server}/")
    assert status == 200 and kind.startswith("text/html") and b"/static/explain.js" in body
    assert b"http" not in body.replace(b"http-equiv", b"")  # nothing fetched from elsewhere: works offline
    for name in ("explain.js", "explain.css"):
        _, _, asset = get(f"{server}/static/{name}")
        assert b"http" not in asset and b"@import" not in asset and b"url(" not in asset


def test_concurrent_requests(server):
    queries = [f"input={i}+{i + 1}+2&kernel=1+{i}&stride={1 + i % 3}&no_torch=1" for i in range(12)]
    results = [None] * len(queries)

    def fetch(n):
        results[n] = get_json(f"{server}/api/explain?{queries[n]}")

    threads = [threading.Thread(target=fetch, args=(n,)) for n in range(len(queries))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    for n, (status, body) in enumerate(results):
        i = n
        assert status == 200 and body["input"] == [i, i + 1, 2] and body["geometry"]["stride"] == [1 + i % 3]


def test_cli_serve_refuses_a_bad_port(capsys):
    assert main(["serve", "--port", "70000", "--no-browser"]) == 2
    assert "--port 70000" in capsys.readouterr().err


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_tconv_serve_runs_and_stops(stop):
    """``tconv serve --port 0 --no-browser`` as a user starts it: prints its address, serves, and
    stops on Ctrl-C (SIGINT, as a terminal delivers it) or SIGTERM (``kill``, a service manager)."""
    import signal
    import subprocess
    import sys

    p = subprocess.Popen(
        [sys.executable, "-m", "tconv", "serve", "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A terminal's process starts with SIGINT at its default; one started from a background
        # job of a non-interactive shell (as CI may run this suite) inherits it ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        line = p.stdout.readline()
        assert line.startswith("tconv serve: http://127.0.0.1:"), line + p.stderr.read()
        url = line.split()[2]
        status, kind, body = get(url)
        assert status == 200 and b'id="app"' in body
        status, d = get_json(url + "api/explain?example=1d&no_torch=1")
        assert status == 200 and d["output"] == [1, 10, 102, 20, 203, 30, 300]
    finally:
        p.send_signal(getattr(signal, stop))
        out, err = p.communicate(timeout=600)  # a hang guard
    assert p.returncode == 0 and "stopped" in out and "Traceback" not in err
