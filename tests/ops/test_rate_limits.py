"""Rate limits per API key, per widget token and per address; counted once across processes, in a
SQLite file beside the database by default or in Redis."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
REDIS = ("127.0.0.1", 6379)


def assert_rate_limited(response):
    assert response.status_code == 429
    body = response.get_json()
    assert body["error"]["code"] == "rate_limited" and set(body["error"]) == {"code", "message", "details"}
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_each_api_key_has_its_own_budget(app, api, admin_key):
    app.config["RATELIMIT_PER_KEY"] = "3 per minute"
    statuses = [api.get("/v1/members/mem_nope").status_code for _ in range(3)]
    assert statuses == [404, 404, 404]
    assert_rate_limited(api.get("/v1/members/mem_nope"))
    assert_rate_limited(api.get("/v1/rewards"))  # one budget for every route
    assert api.get("/v1/members/mem_nope", key=admin_key).status_code == 404
    assert api.client.get("/healthz").status_code == 200  # probes are never limited
    assert api.client.get("/metrics").status_code == 200


def test_each_widget_token_has_its_own_budget(app, api):
    app.config["RATELIMIT_PER_WIDGET_TOKEN"] = "2 per minute"
    member = api.enroll()

    def token(ttl_seconds):
        response = api.post(f"/v1/members/{member['id']}/widget-tokens", {"ttl_seconds": ttl_seconds})
        assert response.status_code == 201, response.get_json()
        return response.get_json()["token"]

    first, second = token(3600), token(1800)
    assert first != second
    me = [api.client.get("/v1/me", headers={"Authorization": f"Bearer {first}"}) for _ in range(3)]
    assert [r.status_code for r in me[:2]] == [200, 200]
    assert_rate_limited(me[2])
    assert api.client.get("/v1/me", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    assert api.get(f"/v1/members/{member['id']}").status_code == 200  # the till's key is not touched


def test_unauthenticated_callers_are_limited_per_address(app, api):
    app.config["RATELIMIT_PER_ADDRESS"] = "2 per minute"
    here = {"REMOTE_ADDR": "203.0.113.7"}
    answers = [api.client.get("/v1/members/mem_x", environ_base=here) for _ in range(3)]
    assert [r.status_code for r in answers[:2]] == [401, 401]
    assert_rate_limited(answers[2])
    bad_keys = api.client.get("/v1/members/mem_x", environ_base=here, headers={"Authorization": "Bearer nope"})
    assert_rate_limited(bad_keys)  # a wrong key counts against the address
    assert api.client.get("/v1/members/mem_x", environ_base={"REMOTE_ADDR": "203.0.113.8"}).status_code == 401


# --------------------------------------------------------------------------- two processes


def redis_reachable() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def servers(database_url: str, count: int, **settings):
    """``count`` gunicorn processes (one worker each) on one database, started together."""
    env = {**os.environ, "LOYALTY_ENV": "production", "SECRET_KEY": "limits-test", "DATABASE_URL": database_url,
           "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING", **settings}
    started = []
    try:
        for _ in range(count):
            port = free_port()
            process = subprocess.Popen([str(GUNICORN), "--bind", f"127.0.0.1:{port}", "--workers", "1", "app:app"],
                                       cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            started.append((process, f"http://127.0.0.1:{port}"))
        for process, base in started:
            _wait_healthy(process, base)
        yield [base for _, base in started]
    finally:
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            process.wait(10)


def _wait_healthy(process, base: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode())
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def get(base: str, key: str) -> tuple[int, dict]:
    request = urllib.request.Request(f"{base}/v1/members/mem_nope", headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def allowed_across_two_servers(database_url: str, key: str, storage: str | None) -> int:
    """Requests of one key two servers let through; ``storage`` None is the default store."""
    settings = {"RATELIMIT_STORAGE_URI": storage or "", "RATELIMIT_PER_KEY": "5 per minute",
                "RATELIMIT_KEY_PREFIX": f"loyalty-test-{uuid.uuid4().hex}"}
    with servers(database_url, 2, **settings) as (one, two):
        answers = [get(base, key) for base in [one, two] * 6]
    assert {status for status, _ in answers} <= {404, 429}
    assert all(body["error"]["code"] == "rate_limited" for status, body in answers if status == 429)
    return sum(status == 404 for status, _ in answers)


def test_a_key_gets_its_limit_once_across_two_servers_by_default(database_url, pos_key):
    assert allowed_across_two_servers(database_url, pos_key, None) == 5
    # Two processes counting in their own memory each let the limit through: the test can fail.
    assert allowed_across_two_servers(database_url, pos_key, "memory://") == 10


def test_a_key_gets_its_limit_once_across_two_servers_sharing_redis(database_url, pos_key):
    if not redis_reachable():
        pytest.skip("Redis is not reachable at 127.0.0.1:6379: the cross-process rate limit test needs it")
    assert allowed_across_two_servers(database_url, pos_key, "redis://127.0.0.1:6379/0") == 5
