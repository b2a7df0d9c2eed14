"""Insert-only rows held back and written together: a batch of events writes each table once.

While a session holds rows (``holding``), ``insert`` keeps them instead of
sending them; ``write`` sends each statement's rows as one executemany, in
the order the statements were first used (an event before the entries and
lots that name it). On PostgreSQL that is one round trip a table instead of
one a row.

Held rows are not yet in the database, so a reader must not look for them:
each row is about a member (its ``member_id``), ``holds`` tells whether any
held row is about given members, and the caller writes them before reading
those members' rows again. An ORM flush writes them first too, since what it
flushes may refer to them.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

HELD = "loyalty.held_rows"


class _Held:
    def __init__(self) -> None:
        self.rows: dict[int, tuple[Executable, list[dict]]] = {}  # by id(statement), in the order first used
        self.members: set[str] = set()


def insert(session: Session, statement: Executable, rows: list[dict]) -> None:
    """Execute ``statement`` for ``rows`` now, or hold them while the session is ``holding``."""
    held: _Held | None = session.info.get(HELD)
    if held is None:
        session.execute(statement, rows[0] if len(rows) == 1 else rows)
        return
    held.rows.setdefault(id(statement), (statement, []))[1].extend(rows)
    held.members.update(row["member_id"] for row in rows)


def holds(session: Session, member_ids: Iterable[str | None]) -> bool:
    held: _Held | None = session.info.get(HELD)
    return held is not None and not held.members.isdisjoint(member_ids)


def write(session: Session) -> None:
    """Send every held row, one executemany a statement; the session goes on holding."""
    held: _Held | None = session.info.get(HELD)
    if held is None or not held.rows:
        return
    rows, held.rows, held.members = held.rows, {}, set()
    connection = session.connection()
    for statement, statement_rows in rows.values():
        connection.execute(statement, statement_rows)


@contextmanager
def holding(session: Session) -> Iterator[None]:
    """Hold inserts for the block and write them at its end; an error drops them unwritten."""
    session.info[HELD] = _Held()
    try:
        yield
        write(session)
    finally:
        session.info.pop(HELD, None)


@event.listens_for(Session, "before_flush")
def _write_before_flush(session: Session, flush_context, instances) -> None:
    write(session)
