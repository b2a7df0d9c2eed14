"""Real gunicorn servers sharing one database, and an HTTP client to race them.

Threads in one process prove the database locks; separate server processes
prove nothing depends on one process's memory.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: dict
    headers: dict = field(default_factory=dict)
    raw: bytes = b""

    @property
    def replayed(self) -> bool:
        return self.headers.get("Idempotent-Replayed") == "true"

    @property
    def error_code(self) -> str | None:
        return (self.body.get("error") or {}).get("code")


@contextmanager
def gunicorn_server(database_url: str, workers: int = 2, *, wsgi: str = "app:app", log: Path | None = None,
                    env: dict | None = None):
    """A production-config gunicorn on a free port; yields its base URL.

    ``wsgi`` names another WSGI app (a test-only wrapper); ``env`` adds settings. The server's stderr
    (the app's JSON log) goes to ``log``, or to a temporary file: a pipe nobody
    reads fills up and blocks the workers.
    """
    env = {**os.environ, "LOYALTY_ENV": "production", "SECRET_KEY": "race-test-secret",
           "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT), **(env or {})}
    # Bound here and inherited: a port merely found free could be taken by another test process
    # before gunicorn binds it, and the health check would then find that process's server.
    with socket.create_server(("127.0.0.1", 0)) as listener, \
            open(log, "w+b") if log else tempfile.TemporaryFile() as stderr:
        base = f"http://127.0.0.1:{listener.getsockname()[1]}"
        process = subprocess.Popen(
            [str(GUNICORN), "--bind", f"fd://{listener.fileno()}", "--workers", str(workers),
             "--log-level", "warning", wsgi],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr, pass_fds=[listener.fileno()])
        listener.close()
        try:
            _wait_healthy(base, process, stderr)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(base: str, process, stderr, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr.seek(0)
            raise RuntimeError(f"gunicorn exited: {stderr.read().decode()}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn at {base} did not become healthy")


def post(base: str, path: str, body: dict, key: str, idempotency_key: str | None = None, *,
         headers: dict | None = None, timeout: float = 60) -> HttpReply:
    request = urllib.request.Request(
        f"{base}{path}", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                 "Idempotency-Key": idempotency_key or uuid.uuid4().hex, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return _reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return _reply(error.code, error.headers, error.read())


def _reply(status: int, headers, raw: bytes) -> HttpReply:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = {}  # a 500 from outside the app's handlers; the status says enough
    return HttpReply(status, body, dict(headers.items()), raw)


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
