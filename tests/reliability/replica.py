"""A streaming replica of the test PostgreSQL, made with pg_basebackup on a port of its own.

The server must allow replication connections from 127.0.0.1 (``host replication all 127.0.0.1/32
trust`` in pg_hba.conf; ``.ci/run`` adds it). One replica per test process, stopped at the end.
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

POSTGRES_BIN = Path(os.environ.get("LOYALTY_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))


class Replica:
    def __init__(self, directory: Path, port: int):
        self.directory, self.port = directory, port

    def url_for(self, database_url: str) -> str:
        return sa.engine.make_url(database_url).set(host="127.0.0.1", port=self.port).render_as_string(
            hide_password=False)

    def start(self) -> None:
        _as_postgres([str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.directory), "-l", str(self.directory / "log"),
                      "-o", f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1", "-w", "start"])

    def stop(self) -> None:
        _as_postgres([str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.directory), "-m", "fast", "-w", "stop"],
                     check=False)

    def execute(self, statement: str) -> None:
        engine = sa.create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres")
        with engine.connect() as connection:
            connection.execute(sa.text(statement))
        engine.dispose()


def _as_postgres(command: list[str], check: bool = True) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)


@contextmanager
def streaming_replica(primary_url: str):
    """Skips (saying why) when the replica cannot be made. It replicates the server itself:
    ``LOYALTY_TEST_REPLICATION_URL`` when the tests reach it through PgBouncer, which cannot replicate."""
    primary = sa.engine.make_url(os.environ.get("LOYALTY_TEST_REPLICATION_URL") or primary_url)
    if not (POSTGRES_BIN / "pg_ctl").exists() or not shutil.which("pg_basebackup"):
        pytest.skip(f"read replica tests skipped: no PostgreSQL server binaries in {POSTGRES_BIN}")
    directory = Path(tempfile.mkdtemp(prefix="loyalty-replica-"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    # A slot of its own keeps the WAL the replica still needs while other tests write a lot of it.
    slot = f"loyalty_test_replica_{os.getpid()}_{port}"
    made = _as_postgres(["pg_basebackup", "-h", primary.host or "127.0.0.1", "-p", str(primary.port or 5432),
                         "-U", primary.username or "postgres", "-D", str(directory / "data"), "-R",
                         "-X", "stream", "-c", "fast", "-C", "-S", slot], check=False)
    if made.returncode != 0:
        _drop_slot(primary, slot)
        shutil.rmtree(directory, ignore_errors=True)
        pytest.skip("read replica tests skipped: pg_basebackup failed (the server must allow replication"
                    f" from 127.0.0.1 in pg_hba.conf; .ci/run adds it): {made.stderr.strip()[-300:]}")
    data = directory / "data"
    (data / "postgresql.conf").write_text("hot_standby = on\nhot_standby_feedback = on\n"
                                          "max_standby_streaming_delay = 30s\n")
    (data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    if os.geteuid() == 0:
        for path in [data / "postgresql.conf", data / "pg_hba.conf"]:
            shutil.chown(path, "postgres")
    replica = Replica(data, port)
    try:
        replica.start()
        _wait_streaming(replica)
        yield replica
    finally:
        replica.stop()
        _drop_slot(primary, slot)
        shutil.rmtree(directory, ignore_errors=True)


def _drop_slot(primary, slot: str) -> None:
    engine = sa.create_engine(primary.set(database="postgres"))
    with engine.begin() as connection:
        connection.execute(sa.text("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                                   " WHERE slot_name = :slot AND NOT active"), {"slot": slot})
    engine.dispose()


def _wait_streaming(replica: Replica, timeout: float = 30) -> None:
    engine = sa.create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{replica.port}/postgres")
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                with engine.connect() as connection:
                    if connection.scalar(sa.text("SELECT count(*) FROM pg_stat_wal_receiver"
                                                 " WHERE status = 'streaming'")):
                        return
            except sa.exc.OperationalError:
                pass
            time.sleep(0.2)
    finally:
        engine.dispose()
    raise RuntimeError(f"the replica did not start streaming: {(replica.directory / 'log').read_text()[-2000:]}")
