"""The server's HTTP, as a specification: only requests naming the address served (``Host``) are
answered; a bounded pool of workers answers more connections than it has threads; HTTP/1.1
connections are kept alive, and a GET's body is discarded, never read as a second request.

Only loopback addresses; the sockets' timeouts are hang guards, never measures of speed.
"""

import threading
import time
import urllib.request

import pytest

from tconv.serve.hosts import allowed_names, host_allowed
from tconv.serve.server import MAX_BODY, serve_in_thread
from tests.serve.conftest import get_json
from tests.serve.raw import HANG_GUARD, Reader, connect, exchange, request, strict_loads

OK_PATH = "/api/explain?input=1+2&kernel=1+1&no_torch=1"


@pytest.fixture
def port(server):
    return int(server.rsplit(":", 1)[1])


def small_server(**options):
    srv, thread = serve_in_thread("127.0.0.1", 0, **options)
    return srv, thread, srv.server_address[1]


def stop(srv, thread):
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=HANG_GUARD)


# --- Host: a guard against DNS rebinding ---------------------------------------------------------

FOREIGN = ["evil.example", "evil.example:{port}", "localhost:{other}", "127.0.0.1:{other}", "[::1]:{other}",
           "127.0.0.1.evil.example:{port}", "localhost.evil.example", "localhost:", "", None]  # fmt: skip


@pytest.mark.parametrize("host", FOREIGN, ids=lambda h: repr(h))
def test_a_foreign_host_is_refused_with_403(port, host):
    host = None if host is None else host.format(port=port, other=port + 1 if port < 65535 else port - 1)
    [(status, headers, body)], closed = exchange(port, request(OK_PATH, host))
    error = strict_loads(body)
    assert status == 403 and headers["content-type"] == "application/json" and set(error) == {"error"}, error
    assert error["error"].startswith("Host: ") and "DNS rebinding" in error["error"], error
    assert headers["connection"] == "close" and closed
    status, body = get_json(f"http://127.0.0.1:{port}{OK_PATH}")  # and the server keeps serving
    assert status == 200 and body["output"] == [1, 3, 2]


LEGITIMATE = ["localhost", "localhost:{port}", "127.0.0.1", "127.0.0.1:{port}", "[::1]", "[::1]:{port}",
              "LocalHost:{port}"]  # fmt: skip


@pytest.mark.parametrize("host", LEGITIMATE)
def test_the_hosts_of_this_machine_are_served(port, host):
    [(status, headers, body)], _ = exchange(
        port, request(OK_PATH, host.format(port=port), headers={"Connection": "close"})
    )
    assert status == 200 and strict_loads(body)["output"] == [1, 3, 2]


def test_the_host_given_is_served_with_its_port_or_none():
    names = allowed_names("tconv-box")
    assert host_allowed("tconv-box:8765", names, 8765) and host_allowed("TCONV-BOX", names, 8765)
    assert not host_allowed("tconv-box:8766", names, 8765) and not host_allowed("other-box:8765", names, 8765)
    assert host_allowed("[::1]:8765", allowed_names("::1"), 8765)
    assert not host_allowed("evil.example:8765", names, 8765, any_ip=True)
    # bound to every interface: any numeric address (a rebinding page's origin is a name), still the port
    assert host_allowed("192.168.1.7:8765", allowed_names("0.0.0.0"), 8765, any_ip=True)
    assert not host_allowed("192.168.1.7:8765", allowed_names("127.0.0.1"), 8765)
    assert not host_allowed("192.168.1.7:9", allowed_names("0.0.0.0"), 8765, any_ip=True)


def test_a_server_bound_to_another_loopback_address_serves_that_address():
    try:
        srv, thread = serve_in_thread("127.0.0.2", 0)
    except OSError:
        pytest.skip("127.0.0.2 cannot be bound here")
    port = srv.server_address[1]
    try:
        with connect(port, "127.0.0.2") as sock:
            sock.sendall(request(OK_PATH, f"127.0.0.2:{port}") + request(OK_PATH, f"evil.example:{port}"))
            reader = Reader(sock)
            assert reader.response()[0] == 200 and reader.response()[0] == 403
    finally:
        stop(srv, thread)


# --- Keep-alive and request bodies ---------------------------------------------------------------


def test_sequential_requests_share_one_kept_alive_connection_errors_included(port):
    host = f"127.0.0.1:{port}"
    paths = [OK_PATH, "/api/explain?input=1&kernel=1&stride=two", "/nothing", "/", OK_PATH]
    with connect(port) as sock:
        reader = Reader(sock)
        got = []
        for path in paths:  # one request, its answer, then the next on the same connection
            sock.sendall(request(path, host))
            got.append(reader.response())
    assert [status for status, _, _ in got] == [200, 400, 404, 200, 200]
    assert all(headers.get("connection") != "close" for _, headers, _ in got)
    assert strict_loads(got[-1][2])["output"] == [1, 3, 2]


def test_a_get_body_is_discarded_not_read_as_a_second_request(port):
    host = f"127.0.0.1:{port}"
    smuggled = request("/nothing/smuggled", host)  # a body that looks like a request
    with connect(port) as sock:
        reader = Reader(sock)
        sock.sendall(request(OK_PATH, host, body=smuggled))
        first = reader.response()
        sock.sendall(request("/api/explain?input=5&kernel=2&no_torch=1", host))
        second = reader.response()
        # pipelined: a body, then the next request in the same write
        sock.sendall(
            request(OK_PATH, host, body=b"x" * 1000) + request("/api/explain?input=3&kernel=3&no_torch=1", host)
        )
        third, fourth = reader.response(), reader.response()
    assert first[0] == 200 and strict_loads(first[2])["output"] == [1, 3, 2]
    assert second[0] == 200 and strict_loads(second[2])["output"] == [10]
    assert third[0] == 200 and fourth[0] == 200 and strict_loads(fourth[2])["output"] == [9]


@pytest.mark.parametrize(
    "headers, status, named",
    [
        ({"Transfer-Encoding": "chunked"}, 400, "Transfer-Encoding"),
        ({"Content-Length": str(MAX_BODY + 1)}, 413, "Content-Length"),
        ({"Content-Length": "9" * 40}, 413, "Content-Length"),
        ({"Content-Length": "-1"}, 400, "Content-Length"),
        ({"Content-Length": "ten"}, 400, "Content-Length"),
    ],
    ids=["chunked", "over-the-limit", "huge", "negative", "not-a-number"],
)
def test_a_body_that_cannot_be_skipped_is_refused_and_the_connection_closed(port, headers, status, named):
    host = f"127.0.0.1:{port}"
    data = request(OK_PATH, host, headers=headers) + request("/nothing/smuggled", host)
    [(got, answer_headers, body)], closed = exchange(port, data)
    error = strict_loads(body)
    assert got == status and error["error"].startswith(f"{named}: "), error
    assert answer_headers["connection"] == "close" and closed  # the smuggled request is never answered
    status, body = get_json(f"http://127.0.0.1:{port}{OK_PATH}")
    assert status == 200


# --- The bounded pool ----------------------------------------------------------------------------


def test_more_concurrent_requests_than_workers_are_all_answered_by_the_pool():
    srv, thread, port = small_server(workers=2)
    try:
        assert len(srv.worker_threads) == 2 and all(t.is_alive() for t in srv.worker_threads)
        queries = [f"input={i}+{i + 1}+2&kernel=1+{i}&stride={1 + i % 3}&no_torch=1" for i in range(12)]
        results = [None] * len(queries)

        def fetch(n):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/explain?{queries[n]}", timeout=HANG_GUARD) as r:
                results[n] = r.status, strict_loads(r.read())

        clients = [threading.Thread(target=fetch, args=(n,)) for n in range(len(queries))]
        for t in clients:
            t.start()
        for t in clients:
            t.join(timeout=HANG_GUARD)
        for i, (status, body) in enumerate(results):
            assert status == 200 and body["input"] == [i, i + 1, 2] and body["geometry"]["stride"] == [1 + i % 3]
        assert len(srv.worker_threads) == 2  # the same two threads served them all
    finally:
        stop(srv, thread)


def test_connections_wait_for_a_free_worker_and_beyond_the_backlog_get_503():
    srv, thread, port = small_server(workers=1, backlog=1)
    host = f"127.0.0.1:{port}"
    try:
        with connect(port) as held, connect(port) as waiting, connect(port) as extra:
            held_reader = Reader(held)
            held.sendall(request(OK_PATH, host))  # kept alive: it holds the one worker
            assert held_reader.response()[0] == 200
            waiting.sendall(request(OK_PATH, host))  # the one waiting place
            # the third connection finds every place taken: 503 at once, then closed
            status, headers, body = Reader(extra).response()
            assert status == 503 and headers["connection"] == "close" and "busy" in strict_loads(body)["error"]
            held.sendall(request(OK_PATH, host, headers={"Connection": "close"}))
            assert held_reader.response()[0] == 200 and held_reader.closed()  # the worker is free again
            assert Reader(waiting).response()[0] == 200  # and the waiting connection is served
        status = 503
        deadline = time.monotonic() + HANG_GUARD
        while status == 503 and time.monotonic() < deadline:  # the places free as the connections close
            [(status, _, _)], _ = exchange(port, request(OK_PATH, host, headers={"Connection": "close"}))
            time.sleep(0.05 if status == 503 else 0)
        assert status == 200
    finally:
        stop(srv, thread)
