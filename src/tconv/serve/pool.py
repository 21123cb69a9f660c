"""An HTTP server with a bounded pool of worker threads.

The standard library's :class:`~http.server.ThreadingHTTPServer` starts one thread per connection,
without limit. :class:`PooledHTTPServer` starts ``workers`` threads once; each accepted connection
waits in a queue for one of them. At most ``workers + backlog`` connections are held at a time;
one more is answered ``503`` with a JSON error and closed at once, so a flood of connections costs
neither threads nor memory. A connection kept alive holds its worker until it is closed or idle for
the handler's ``timeout``.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
from http.server import HTTPServer

__all__ = ["PooledHTTPServer", "DEFAULT_WORKERS", "DEFAULT_BACKLOG"]

#: Worker threads of a server (each serves one connection at a time).
DEFAULT_WORKERS = 8
#: Accepted connections that may wait for a worker; beyond, ``503``.
DEFAULT_BACKLOG = 64

_BUSY = json.dumps({"error": "the server is busy: every worker and every waiting place is taken; try again"}).encode()


class PooledHTTPServer(HTTPServer):
    """An :class:`~http.server.HTTPServer` serving connections on ``workers`` threads.

    Parameters
    ----------
    server_address : tuple
        ``(host, port)``; a host with ``:`` (IPv6, like ``::1``) binds an IPv6 socket.
    handler : type
        The request handler class.
    workers : int
        Worker threads, at least 1.
    backlog : int
        Accepted connections that may wait for a worker, at least 0.
    """

    daemon_threads = True

    def __init__(self, server_address, handler, *, workers: int = DEFAULT_WORKERS, backlog: int = DEFAULT_BACKLOG):
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers={workers!r} must be a positive whole number")
        if not isinstance(backlog, int) or backlog < 0:
            raise ValueError(f"backlog={backlog!r} must be a non-negative whole number")
        if ":" in str(server_address[0]):
            self.address_family = socket.AF_INET6
        super().__init__(server_address, handler)
        self.workers, self.backlog = workers, backlog
        self._slots = threading.BoundedSemaphore(workers + backlog)
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"tconv-serve-worker-{n}", daemon=True) for n in range(workers)
        ]
        for t in self._threads:
            t.start()

    @property
    def worker_threads(self) -> tuple[threading.Thread, ...]:
        """The worker threads: started with the server, the only threads serving its connections."""
        return tuple(self._threads)

    def process_request(self, request, client_address) -> None:
        """Queue the connection for a worker, or answer ``503`` when every place is taken."""
        if not self._slots.acquire(blocking=False):
            self._refuse_busy(request)
            return
        self._jobs.put((request, client_address))

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            request, client_address = job
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)
                self._slots.release()

    def _refuse_busy(self, request) -> None:
        head = (
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(_BUSY)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
        )
        try:
            request.settimeout(1)  # a few hundred bytes into a fresh socket's buffer: never waits in practice
            request.sendall(head.encode() + _BUSY)
        except OSError:
            pass
        self.shutdown_request(request)

    def server_close(self) -> None:
        """Close the listening socket and stop the workers once they finish their connections."""
        super().server_close()
        for _ in self._threads:
            self._jobs.put(None)
