"""The local web server of ``tconv serve``: the page at ``/``, its assets, and the JSON API.

The standard library's :class:`~http.server.ThreadingHTTPServer`: one thread per request, so a slow
explanation does not hold up another; a bad request is answered (400, 404, 414) and the server
keeps serving. It binds ``127.0.0.1`` unless told otherwise.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tconv.errors import TConvError
from tconv.explainer.web import ASSETS, asset, page
from tconv.serve.api import explain_json

__all__ = ["make_server", "serve_in_thread", "Handler"]


class Handler(BaseHTTPRequestHandler):
    """``/`` the page, ``/static/<asset>``, ``/api/explain?…`` the JSON; everything else 404."""

    server_version = "tconv"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        url = urlsplit(self.path)
        if url.path in ("/", "/index.html"):
            self._send(200, "text/html; charset=utf-8", page())
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
        self._send(code, "application/json", json.dumps(value).encode())

    def _send(self, code: int, kind: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format, *args) -> None:  # quiet: the terminal shows only the address
        pass


def make_server(host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    """A server bound to ``host:port`` (``port`` 0: any free port; ``server.server_address`` says which)."""
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve_in_thread(host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """Start a server on a background thread (for tests and notebooks); stop it with ``server.shutdown()``."""
    server = make_server(host, port)
    thread = threading.Thread(target=server.serve_forever, name="tconv-serve", daemon=True)
    thread.start()
    return server, thread
