"""Real gunicorn servers sharing one database, and an HTTP client to race them.

Threads in one process prove the database locks; separate server processes
prove nothing depends on one process's memory.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: dict

    @property
    def error_code(self) -> str | None:
        return (self.body.get("error") or {}).get("code")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn_server(database_url: str, workers: int = 2):
    """A production-config gunicorn on a free port; yields its base URL."""
    port = free_port()
    env = {**os.environ, "LOYALTY_ENV": "production", "SECRET_KEY": "race-test-secret",
           "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [str(GUNICORN), "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--log-level", "warning",
         "app:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(base: str, process, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {process.stderr.read().decode()}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn at {base} did not become healthy")


def post(base: str, path: str, body: dict, key: str, idempotency_key: str | None = None) -> HttpReply:
    request = urllib.request.Request(
        f"{base}{path}", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                 "Idempotency-Key": idempotency_key or uuid.uuid4().hex})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return HttpReply(response.status, json.loads(response.read()))
    except urllib.error.HTTPError as error:
        return HttpReply(error.code, json.loads(error.read() or b"{}"))


def race_http(calls) -> list:
    """Run each call in its own thread, released together; results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def worker(index, call):
        barrier.wait(timeout=60)
        results[index] = call()

    threads = [threading.Thread(target=worker, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert all(result is not None for result in results), "a request did not finish"
    return results
