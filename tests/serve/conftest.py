"""A tconv server on 127.0.0.1 and a free port, for the module's tests; shut down after them."""

import urllib.error
import urllib.request

import pytest

from tconv.serve.server import serve_in_thread
from tests.serve.raw import strict_loads


@pytest.fixture(scope="package")
def server():
    srv, thread = serve_in_thread("127.0.0.1", 0)
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=600)


def get(url: str):
    """``(status, content type, body)`` of a GET, errors included."""
    try:
        with urllib.request.urlopen(url, timeout=600) as r:
            return r.status, r.headers["Content-Type"], r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def get_json(url: str):
    """``(status, parsed body)``; the body must be standard JSON (no ``NaN`` or ``Infinity``)."""
    status, _, body = get(url)
    return status, strict_loads(body)
