"""``tconv serve``: the explainer in the browser (a local web server; the page and its JSON API)."""

from __future__ import annotations

import argparse
import signal
import threading
import webbrowser

from tconv.cli.common import UsageError

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``tconv serve``."""
    p = sub.add_parser(
        "serve",
        help="the explainer in the browser: an interactive page on a local web server",
        description="Start a local web server with the interactive explainer page, and open it in the browser. "
        "GET /api/explain?input=...&kernel=...&stride=... answers the JSON of tconv explain --json.",
        epilog="Example: tconv serve, then http://127.0.0.1:8765/?input=1 2; 3 4&kernel=1 2 3; 4 5 6; 7 8 9&stride=2",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this machine only); requests must name it, localhost, 127.0.0.1 "
        "or [::1] in their Host header",
    )
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument("--no-browser", action="store_true", help="do not open the page in the default browser")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted (Ctrl-C)."""
    from tconv.serve.server import make_server

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} must be between 0 and 65535")
    try:
        server = make_server(args.host, args.port)
    except OSError as exc:
        raise UsageError(
            f"--host {args.host} --port {args.port}: cannot listen there ({exc.strerror or exc})"
        ) from None
    host, port = server.server_address[:2]
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]"}.get(host, f"[{host}]" if ":" in host else host)
    url = f"http://{host}:{port}/"
    print(f"tconv serve: {url}  (Ctrl-C stops it)", flush=True)
    if not args.no_browser:
        webbrowser.open(url)
    # Ctrl-C (SIGINT) stops it, and so does SIGTERM (a service manager's, or `kill`'s): a process
    # started in the background by a non-interactive shell inherits SIGINT ignored, and only
    # SIGTERM reaches it then.
    previous = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
    if previous is not None:
        signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("tconv serve: stopped")
    finally:
        server.server_close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt
