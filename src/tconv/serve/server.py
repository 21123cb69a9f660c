"""The local web server of ``tconv serve``: the page at ``/``, its assets, and the JSON API.

A :class:`~tconv.serve.pool.PooledHTTPServer`: a bounded pool of worker threads, so a slow
explanation does not hold up another and a flood of connections does not start a thread each. It
binds ``127.0.0.1`` unless told otherwise, and answers only requests whose ``Host`` header names the
address served (:mod:`tconv.serve.hosts`: a guard against DNS rebinding). Every answer is standard
JSON or a file; a bad request is answered (400, 403, 404, 413, 414) and the server keeps serving.
HTTP/1.1 connections are kept alive; a GET's body is read and discarded, never taken for a request.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from tconv.errors import TConvError
from tconv.explainer.i18n import LANGS
from tconv.explainer.web import ASSETS, asset, page
from tconv.serve.api import explain_json
from tconv.serve.hosts import WILDCARDS, allowed_names, host_allowed
from tconv.serve.pool import DEFAULT_BACKLOG, DEFAULT_WORKERS, PooledHTTPServer

__all__ = ["make_server", "serve_in_thread", "Handler", "MAX_BODY"]

#: The largest request body read (and discarded): the API takes its arguments in the URL.
MAX_BODY = 65536


def _page_lang(query: str) -> str:
    """The page's language: ``?lang=ja``; English for none, or one without a catalogue (the API says why)."""
    lang = parse_qs(query).get("lang", ["en"])[-1]
    return lang if lang in LANGS else "en"


class Handler(BaseHTTPRequestHandler):
    """``/`` the page, ``/static/<asset>``, ``/api/explain?…`` the JSON; everything else 404."""

    server_version = "tconv"
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds a kept-alive connection may stay idle (or a request take to arrive) before it is closed

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if not self._discard_body() or not self._host_ok():
            return
        url = urlsplit(self.path)
        if url.path in ("/", "/index.html"):
            self._send(200, "text/html; charset=utf-8", page(_page_lang(url.query)))
        elif url.path.startswith("/static/") and url.path[len("/static/") :] in ASSETS:
            name = url.path[len("/static/") :]
            self._send(200, ASSETS[name], asset(name))
        elif url.path == "/api/explain":
            try:
                body = explain_json(url.query)
            except TConvError as exc:
                self._json(400, {"error": str(exc)})
                return
            except Exception as exc:  # a bug must not take the server down: say so, keep serving
                self._json(500, {"error": f"internal error: {type(exc).__name__}: {exc}"})
                return
            self._send(200, "application/json", body.encode())
        elif url.path == "/favicon.ico":
            self._send(204, "image/x-icon", b"")
        else:
            self._json(404, {"error": f"{url.path}: not found (the page is /, the API /api/explain)"})

    def _discard_body(self) -> bool:
        """Read and drop the request's body (the API takes none), so it is never read as the next request.

        A body that cannot be skipped safely (chunked, a bad or repeated ``Content-Length``, over
        :data:`MAX_BODY` bytes) is refused and the connection closed; ``False`` then.
        """
        lengths = self.headers.get_all("Content-Length") or []
        error = None
        if self.headers.get("Transfer-Encoding") is not None:
            error = (400, "Transfer-Encoding: a GET takes no body (the arguments go in the URL)")
        elif len(lengths) > 1:
            error = (400, f"Content-Length: given {len(lengths)} times; give it once")
        elif lengths and not (lengths[0].strip().isascii() and lengths[0].strip().isdigit()):
            error = (400, f"Content-Length: {lengths[0]!r} must be a whole number of bytes")
        elif lengths and (len(lengths[0].strip()) > 9 or int(lengths[0]) > MAX_BODY):
            error = (413, f"Content-Length: {lengths[0].strip()} bytes: at most {MAX_BODY:,} (a GET takes no body)")
        if error:
            self.close_connection = True
            self._json(error[0], {"error": error[1]})
            return False
        left = int(lengths[0]) if lengths else 0
        while left:
            chunk = self.rfile.read(min(left, 16384))
            if not chunk:  # the client went away mid-body
                self.close_connection = True
                return False
            left -= len(chunk)
        return True

    def _host_ok(self) -> bool:
        """Serve only a ``Host`` naming this server (DNS rebinding); otherwise answer 403 and close."""
        host, port = self.server.server_address[:2]
        names = getattr(self.server, "allowed_hosts", None) or allowed_names(host)
        header = self.headers.get("Host")
        if host_allowed(header, names, port, any_ip=host in WILDCARDS):
            return True
        self.close_connection = True
        shown = ", ".join(sorted(names))
        self._json(
            403,
            {
                "error": f"Host: {header!r} is not this server's address ({shown}, with port {port} or none): "
                "refused, as a guard against DNS rebinding"
            },
        )
        return False

    def send_error(self, code, message=None, explain=None) -> None:
        """http.server's own errors (a request line over 65,536 bytes: 414, a malformed request: 400) as JSON."""
        reason = message or HTTPStatus(code).phrase
        if code == HTTPStatus.REQUEST_URI_TOO_LONG:
            reason = "the request line is over 65,536 bytes: the input is too big for the explainer"
        try:
            self.close_connection = True
            self._json(code, {"error": reason})
        except OSError:
            pass

    def _json(self, code: int, value: dict) -> None:
        self._send(code, "application/json", json.dumps(value, allow_nan=False).encode())

    def _send(self, code: int, kind: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format, *args) -> None:  # quiet: the terminal shows only the address
        pass


def make_server(
    host: str = "127.0.0.1", port: int = 8765, *, workers: int = DEFAULT_WORKERS, backlog: int = DEFAULT_BACKLOG
) -> PooledHTTPServer:
    """A server bound to ``host:port`` (``port`` 0: any free port; ``server.server_address`` says which).

    Parameters
    ----------
    host : str
        The address to bind; the server answers requests naming it, ``localhost``, ``127.0.0.1``
        or ``[::1]`` in their ``Host`` header.
    port : int
        The port; 0 picks a free one.
    workers, backlog : int
        The worker threads, and the connections that may wait for one (beyond: ``503``).

    Returns
    -------
    PooledHTTPServer
        Not yet serving: call ``serve_forever()``; stop it with ``shutdown()`` and ``server_close()``.
    """
    server = PooledHTTPServer((host, port), Handler, workers=workers, backlog=backlog)
    server.allowed_hosts = allowed_names(host) | allowed_names(server.server_address[0])  # the name and its address
    return server


def serve_in_thread(host: str = "127.0.0.1", port: int = 0, **options) -> tuple[PooledHTTPServer, threading.Thread]:
    """Start a server on a background thread (for tests and notebooks); stop it with ``server.shutdown()``.

    ``options`` (``workers``, ``backlog``) go to :func:`make_server`.
    """
    server = make_server(host, port, **options)
    thread = threading.Thread(target=server.serve_forever, name="tconv-serve", daemon=True)
    thread.start()
    return server, thread
