"""HTTP at the byte level for the server's tests: requests written by hand, responses read one by one.

``http.client`` and ``urllib`` fix the ``Host`` header, never pipeline and reconnect on their own;
these helpers do exactly what a test writes, on one loopback connection.
"""

from __future__ import annotations

import json
import socket

HANG_GUARD = 600  # seconds: only a guard against a hung test, never a measure of speed


def strict_loads(body: bytes | str):
    """``json.loads`` refusing ``NaN``, ``Infinity`` and ``-Infinity`` (as browsers' ``JSON.parse`` does)."""

    def refuse(name: str):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(body, parse_constant=refuse)


def connect(port: int, host: str = "127.0.0.1") -> socket.socket:
    """A connection to the server, with a generous hang guard."""
    return socket.create_connection((host, port), timeout=HANG_GUARD)


def request(path: str, host: str | None, body: bytes = b"", headers: dict | None = None) -> bytes:
    """The bytes of a GET (``host=None``: no ``Host`` header; a body adds its ``Content-Length``)."""
    lines = [f"GET {path} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Reader:
    """Reads the responses of one connection, in order."""

    def __init__(self, sock: socket.socket):
        self.file = sock.makefile("rb")

    def response(self) -> tuple[int, dict[str, str], bytes]:
        """``(status, headers with lower-case names, body)`` of the next response."""
        status_line = self.file.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        headers = {}
        while (line := self.file.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers, self.file.read(int(headers.get("content-length", 0)))

    def closed(self) -> bool:
        """Whether the server has closed the connection (nothing more to read)."""
        try:
            return self.file.read(1) == b""
        except ConnectionResetError:
            return True


def exchange(port: int, data: bytes, responses: int = 1) -> tuple[list[tuple[int, dict, bytes]], bool]:
    """Send ``data`` on a fresh connection, read ``responses`` responses; then whether the server closed it.

    Only for answers saying ``Connection: close``: on a connection kept alive, the last read waits for
    the server's idle timeout.
    """
    with connect(port) as sock:
        sock.sendall(data)
        reader = Reader(sock)
        got = [reader.response() for _ in range(responses)]
        return got, reader.closed()
