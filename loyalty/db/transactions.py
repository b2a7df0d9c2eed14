"""Transactions that lock what they change, on SQLite and PostgreSQL alike.

PostgreSQL: each write transaction locks the member rows it touches with
``SELECT … FOR UPDATE`` (in id order, so two members never deadlock).

SQLite has no row locks: a write transaction starts with ``BEGIN IMMEDIATE``,
which takes the database's write lock up front, so writers queue (with a busy
timeout) instead of racing and failing at commit. Reads stay ``DEFERRED`` and,
in WAL mode, never wait for writers.
"""

import fcntl
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import bindparam, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import Session, scoped_session

from loyalty.models import Member

WRITE_OPTION = "loyalty_write"
#: How long a SQLite writer waits for its turn (SQLite's busy timeout too); then the change
#: fails as SQLite itself would fail it, "database is locked", which the API answers with a 503.
SQLITE_BUSY_SECONDS = 30.0
POSTGRES_CONNECT_TIMEOUT = 3  # seconds; libpq waits forever without one
IDLE_SINCE = "loyalty.idle_since"
UNDO_ON_ROLLBACK = "loyalty.undo_on_rollback"
log = logging.getLogger(__name__)


def configure_engine(engine: Engine, ping_idle_after: float | None = None, transaction_pooler: bool = False) -> None:
    """Per-database connection setup; ``ping_idle_after`` (seconds) see ``_ping_idle_connections``.

    ``transaction_pooler``: the URL is a pooler in transaction mode (PgBouncer), where consecutive
    transactions may run on different server connections; psycopg's server-side prepared
    statements would then meet a connection that never prepared them (or prepared another).
    """
    if engine.dialect.name == "postgresql":
        @event.listens_for(engine, "do_connect")
        def _connect_timeout(_dialect, _record, _args, params):
            params.setdefault("connect_timeout", POSTGRES_CONNECT_TIMEOUT)
            if transaction_pooler:
                params["prepare_threshold"] = None

        if ping_idle_after is not None:
            _ping_idle_connections(engine, ping_idle_after)
        return
    if engine.dialect.name != "sqlite":
        return
    in_memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = connection.get_execution_options().get(WRITE_OPTION)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection before use when it sat idle for ``idle_seconds`` or longer.

    ``pool_pre_ping`` would cost a round trip on every request; a connection
    handed back a moment ago by a busy worker is as good as pinged. One that
    sat idle is checked, and a dead one is replaced before a request meets it,
    so a database restart while the service was quiet fails no request. One
    that dies under load fails its request with a 503, and the pool then
    replaces it.
    """
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):
        record.info[IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        since = record.info.pop(IDLE_SINCE, None)
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # whatever the driver raises, the pool retries with a new connection
            raise DisconnectionError(f"pooled connection failed its ping: {error}") from error


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """One transaction for one change: committed whole or rolled back whole."""
    if isinstance(session, scoped_session):
        session = session()
    bind = session.get_bind()
    if session.in_transaction() and bind.dialect.name == "sqlite":
        # SQLite must start over with BEGIN IMMEDIATE; PostgreSQL carries on in the transaction
        # the request's reads (its credentials) opened, which saves a COMMIT and a BEGIN.
        session.commit()
    with _writers_turn(bind):
        if not session.in_transaction():
            session.connection(execution_options={WRITE_OPTION: True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def undo_on_rollback(session: Session, action) -> None:
    """Call ``action`` if the session's transaction ends without committing: it takes back what was
    done outside the database for it (a promotion code made at Stripe). A failing action is logged;
    whatever it leaves, a job must find and take back."""
    session.info.setdefault(UNDO_ON_ROLLBACK, []).append(action)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(UNDO_ON_ROLLBACK, None)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, _previous) -> None:
    if session.in_transaction():  # a savepoint: the transaction may still commit
        return
    for action in session.info.pop(UNDO_ON_ROLLBACK, []):
        try:
            action()
        except Exception as error:  # noqa: BLE001 - the rollback's own error is the one to raise
            log.warning("could not undo after a rollback: %s", error)


@contextmanager
def _writers_turn(bind: Engine) -> Iterator[None]:
    """On a SQLite file, wait for the write lock in the kernel's queue rather than SQLite's.

    A writer that finds the database locked sleeps in SQLite's busy handler,
    for up to 100 ms a try, however soon the lock is free; under load that
    sleep is most of an accrual's latency. Writers of one database first take
    an exclusive ``flock`` on a file beside it, which wakes the next one the
    moment the last one commits. It only orders writers: SQLite's own lock
    still guards the data, and a writer that skips this (another tool) is
    still safe. The lock goes with the process if it dies. A writer waits
    ``SQLITE_BUSY_SECONDS`` at most, as it would in SQLite's busy handler.
    """
    path = bind.url.database if bind.dialect.name == "sqlite" else None
    if not path or path == ":memory:":
        yield
        return
    descriptor = _writer_lock(f"{path}-writer.lock", SQLITE_BUSY_SECONDS)
    try:
        yield
    finally:
        os.close(descriptor)


def _writer_lock(path: str, timeout: float) -> int:
    """A new descriptor of ``path`` holding its exclusive flock (one per turn: threads queue too).

    The kernel has no timed ``flock``: a writer that must wait leaves the
    waiting to the process's lock-waiting thread, so that it still wakes the
    moment the lock is free, and gives up after ``timeout``; that thread then
    lets go of the lock as soon as it gets it.
    """
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return descriptor
    except BlockingIOError:
        pass
    except BaseException:
        os.close(descriptor)
        raise
    waiter = _LockWaiter(descriptor)
    _lock_waiting.submit(waiter)
    if waiter.take(timeout):
        return descriptor
    raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError(
        f"database is locked: no writer's turn within {timeout:g} s"))


class _LockWaiter:
    """Blocks in ``flock`` for a writer, who takes the lock or walks away from it."""

    def __init__(self, descriptor: int):
        self.descriptor = descriptor
        self.decided = threading.Lock()
        self.locked = threading.Event()
        self.abandoned = False

    def wait(self) -> None:
        fcntl.flock(self.descriptor, fcntl.LOCK_EX)
        with self.decided:
            if self.abandoned:
                os.close(self.descriptor)  # frees the lock for the next writer
                return
            self.locked.set()

    def take(self, timeout: float) -> bool:
        """True once the lock is held, False (and the lock left to be freed) after ``timeout``."""
        if self.locked.wait(timeout):
            return True
        with self.decided:
            if self.locked.is_set():
                return True
            self.abandoned = True
            return False


class _LockWaiting:
    """One daemon thread per process waits in ``flock`` for the writers that must wait, in turn.

    Each waiter has a descriptor of its own, so waiting for a later one while
    an earlier one holds the lock is just waiting for the lock. Started on
    first use, and again in a forked child (where it does not run).
    """

    def __init__(self):
        self.waiters: queue.SimpleQueue[_LockWaiter] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.starting = threading.Lock()

    def submit(self, waiter: _LockWaiter) -> None:
        with self.starting:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="sqlite-writer-lock", daemon=True)
                self.thread.start()
        self.waiters.put(waiter)

    def _run(self) -> None:
        while True:
            self.waiters.get().wait()


_lock_waiting = _LockWaiting()

#: Built once: the till's paths lock one member per request.
LOCK_MEMBERS = (
    select(Member)
    .where(Member.id.in_(bindparam("ids", expanding=True)))
    .order_by(Member.id)
    .with_for_update()
    .execution_options(populate_existing=True)
)


def lock_members(session: Session, member_ids) -> dict[str, Member]:
    """Load and lock members for update, fresh from the database."""
    rows = session.scalars(LOCK_MEMBERS, {"ids": sorted(set(member_ids))}).all()
    return {member.id: member for member in rows}
