"""PgBouncer in transaction pooling in front of the test PostgreSQL (``.ci/pgbouncer.sh`` starts it).

``LOYALTY_TEST_PGBOUNCER_URL`` names it (``postgresql+psycopg://postgres@127.0.0.1:6432``); a test
database reached through it keeps its name, PgBouncer's ``*`` entry passes any name through.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]

PGBOUNCER_URL = os.environ.get("LOYALTY_TEST_PGBOUNCER_URL", "").strip()
#: The settings a deployment through PgBouncer in transaction mode uses (docs/topology.md).
POOLER_ENV = {"DATABASE_TRANSACTION_POOLER": "1"}


def through_pgbouncer(database_url: str) -> str:
    """The same database, reached through PgBouncer; skips the test when none is configured."""
    if not PGBOUNCER_URL:
        pytest.skip("PgBouncer tests skipped: LOYALTY_TEST_PGBOUNCER_URL is not set (.ci/pgbouncer.sh starts one)")
    bouncer = sa.engine.make_url(PGBOUNCER_URL)
    url = sa.engine.make_url(database_url).set(host=bouncer.host, port=bouncer.port)
    if bouncer.username:
        url = url.set(username=bouncer.username, password=bouncer.password)
    return url.render_as_string(hide_password=False)


PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


@contextmanager
def pgbouncer_in_front_of(port: int):
    """A PgBouncer of the test's own, configured as deploy/pgbouncer.ini, in front of 127.0.0.1:``port``
    (a proxy the test can cut: a PostgreSQL restart as PgBouncer sees it); yields its port."""
    if not os.access(PGBOUNCER, os.X_OK):
        pytest.skip("PgBouncer tests skipped: pgbouncer is not installed (.ci/pgbouncer.sh installs it)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        listen_port = probe.getsockname()[1]
    config = (ROOT / "deploy" / "pgbouncer.ini").read_text()
    config = config.replace("* = host=127.0.0.1 port=5432", f"* = host=127.0.0.1 port={port}")
    config = config.replace("listen_port = 6432", f"listen_port = {listen_port}")
    directory = Path(tempfile.mkdtemp(prefix="loyalty-pgbouncer-"))  # in /tmp: the postgres user reaches it
    (directory / "userlist.txt").write_text('"postgres" ""\n')
    (directory / "pgbouncer.ini").write_text(
        config + f"auth_file = {directory / 'userlist.txt'}\nlogfile = {directory / 'pgbouncer.log'}\n")
    as_postgres = ["-u", "postgres"] if os.geteuid() == 0 else []  # it refuses to run as root
    if as_postgres:
        shutil.chown(directory, "postgres")
        for path in directory.iterdir():
            shutil.chown(path, "postgres")
    process = subprocess.Popen([PGBOUNCER, *as_postgres, str(directory / "pgbouncer.ini")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(listen_port, process, directory)
        yield listen_port
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


def _wait_listening(port: int, process, directory: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = directory / "pgbouncer.log"
            raise RuntimeError(f"pgbouncer exited: {log.read_text() if log.exists() else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("pgbouncer did not start listening")
