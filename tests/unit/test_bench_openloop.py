"""The open-loop generator sends every request on schedule, as built, and counts what failed."""

import json
import re
import socket
from concurrent.futures import ThreadPoolExecutor

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from bench.openloop import open_loop, request_bytes, status_of


def run_open_loop(*args, **kwargs):
    """In a thread of its own: a browser test before this one may have left an event loop running here."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(open_loop, *args, **kwargs).result()


def test_a_request_is_written_as_http_1_1_with_its_body_and_length():
    raw = request_bytes("127.0.0.1:8000", "POST", "/v1/events", {"Authorization": "Bearer k"}, b'{"a":1}')
    head, body = raw.split(b"\r\n\r\n")
    assert head.split(b"\r\n") == [b"POST /v1/events HTTP/1.1", b"Host: 127.0.0.1:8000", b"Connection: close",
                                   b"Authorization: Bearer k", b"Content-Length: 7"]
    assert body == b'{"a":1}'
    assert request_bytes("h", "GET", "/", {}, None).endswith(b"Connection: close\r\n\r\n")


def test_the_status_is_read_off_the_status_line():
    assert status_of(b"HTTP/1.1 201 CREATED\r\nContent-Length: 0\r\n\r\n") == 201
    assert status_of(b"HTTP/1.0 503 SERVICE UNAVAILABLE\r\n\r\n") == 503
    assert status_of(b"") == 0
    assert status_of(b"garbage") == 0


def test_every_request_is_sent_once_and_failures_are_counted(httpserver: HTTPServer):
    seen = []

    def handler(request: Request) -> Response:
        index = int(request.path.rsplit("/", 1)[1])
        seen.append((request.method, index, json.loads(request.data), request.headers["X-Index"]))
        return Response("{}", status=500 if index % 10 == 0 else 200, content_type="application/json")

    httpserver.expect_request(re.compile(r"^/item/\d+$"), method="POST").respond_with_handler(handler)

    def make(index: int):
        return "POST", f"/item/{index}", {"X-Index": str(index)}, json.dumps({"index": index}).encode()

    result = run_open_loop(httpserver.url_for("/").rstrip("/"), make, rate=100, duration=1, connections=8)
    assert result.sent == 100
    assert sorted(seen) == [("POST", i, {"index": i}, str(i)) for i in range(100)]
    assert result.errors == 10
    assert 0 < result.p50_ms <= result.p99_ms <= result.max_ms


def test_a_refused_connection_is_an_error_not_a_crash():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once the socket is closed
    result = run_open_loop(f"http://127.0.0.1:{port}", lambda i: ("GET", "/", {}, None), rate=50, duration=0.2)
    assert (result.sent, result.errors) == (10, 10)
