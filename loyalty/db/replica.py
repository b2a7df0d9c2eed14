"""Reads that may be a moment behind (reports, backtests, exports, member search) from a streaming replica.

With ``DATABASE_REPLICA_URL`` set, ``read_behind(work)`` runs ``work(session)`` on the replica when it
is usable: in recovery, streaming from the primary, and caught up with the primary's WAL or no more
than ``REPLICA_MAX_LAG_SECONDS`` behind. Each process checks that at most every
``REPLICA_CHECK_SECONDS``, one thread at a time (the others go on with the last answer). A replica
that is down, stopped streaming, lags, or fails during the read: the read runs on the primary.
Nothing a till does goes through here, so its write and its answer only ever see the primary.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from loyalty.db.transactions import configure_engine
from loyalty.extensions import db

Result = TypeVar("Result")
EXTENSION = "loyalty.replica"
log = logging.getLogger(__name__)

PRIMARY_POSITION = text("SELECT pg_current_wal_lsn()::text")
#: In recovery; streaming; caught up with the primary's position; seconds since the last replayed commit.
REPLICA_STATE = text("""
SELECT pg_is_in_recovery(),
       coalesce((SELECT status = 'streaming' FROM pg_stat_wal_receiver LIMIT 1), false),
       coalesce(pg_last_wal_replay_lsn() >= CAST(:primary AS pg_lsn), false),
       extract(epoch FROM now() - pg_last_xact_replay_timestamp())
""")


class ReadReplica:
    def __init__(self, engine: Engine, primary: Engine, max_lag: float, check_every: float):
        self.engine, self.primary = engine, primary
        self.max_lag, self.check_every = max_lag, check_every
        self._usable = False
        self._checked_at = float("-inf")
        self._checking = threading.Lock()

    def usable(self) -> bool:
        if time.monotonic() - self._checked_at >= self.check_every and self._checking.acquire(blocking=False):
            try:
                self._usable = self._check()
                self._checked_at = time.monotonic()
            finally:
                self._checking.release()
        return self._usable

    def lag_seconds(self) -> float | None:
        """How far behind the replica is (0 when it has replayed what the primary wrote); None when unusable."""
        with self.primary.connect() as connection:
            position = connection.scalar(PRIMARY_POSITION)
        with self.engine.connect() as connection:
            recovering, streaming, caught_up, since_commit = connection.execute(
                REPLICA_STATE, {"primary": position}).one()
        if not (recovering and streaming):
            return None
        return 0.0 if caught_up else float(since_commit if since_commit is not None else "inf")

    def mark_unusable(self) -> None:
        self._usable, self._checked_at = False, time.monotonic()

    def _check(self) -> bool:
        try:
            lag = self.lag_seconds()
        except OperationalError as error:
            log.warning("read replica unavailable, reading from the primary: %s", error.orig)
            return False
        if lag is None or lag > self.max_lag:
            log.warning("read replica %s, reading from the primary",
                        "is not streaming" if lag is None else f"lags {lag:.1f} s")
            return False
        return True


def init_app(app: Flask) -> None:
    url = app.config.get("DATABASE_REPLICA_URL")
    if not url:
        return
    engine = create_engine(url, **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
    configure_engine(engine, app.config["DATABASE_PING_IDLE_SECONDS"],
                     transaction_pooler=app.config["DATABASE_TRANSACTION_POOLER"])
    with app.app_context():
        primary = db.engine
    app.extensions[EXTENSION] = ReadReplica(engine, primary, float(app.config["REPLICA_MAX_LAG_SECONDS"]),
                                            float(app.config["REPLICA_CHECK_SECONDS"]))


def read_behind(work: Callable[[Session], Result]) -> Result:
    """``work(session)`` on the replica when it is usable, else (or if it fails there) on the primary."""
    replica: ReadReplica | None = current_app.extensions.get(EXTENSION)
    if replica is not None and replica.usable():
        try:
            with Session(bind=replica.engine) as session:
                return work(session)
        except OperationalError as error:  # down, restarted, or a read cancelled by the replay it conflicted with
            log.warning("read replica failed during a read, reading from the primary: %s", error.orig)
            replica.mark_unusable()
    return work(db.session())

