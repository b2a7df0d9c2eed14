"""One change's independent writes as one statement on PostgreSQL.

An accrual writes an event, ledger entries with their lots, counter upserts
and the member's new totals. None of them needs anything back from another,
except a lot its entry's sequence number, which it takes from the entry's
CTE in the same statement. On PostgreSQL they are sent as the
data-modifying CTEs of a single statement: one round trip and one
statement's overhead instead of eight. Foreign keys are checked at the end
of the statement, so an entry may name the event inserted beside it.

SQLite has no INSERT or UPDATE inside WITH; there each write runs when it
is added (in process, there is no round trip to save).

Every part reads the snapshot from before the statement, so nothing added
to a batch may read what another part writes, other than through a CTE it
references, and no row may be written twice in one batch.
"""

from sqlalchemy import Executable, inspect, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value


class WriteBatch:
    def __init__(self, session: Session):
        self.session = session
        self.combined = session.get_bind().dialect.name == "postgresql"
        self._parts: list = []
        self._written: list[tuple[object, dict]] = []
        self._names = 0

    def insert(self, table):
        """The dialect's INSERT (with ``on_conflict_do_update``) for ``table``."""
        return (postgresql.insert if self.combined else sqlite.insert)(table)

    def name(self, prefix: str) -> str:
        """A CTE name no other part of this batch uses (the same in every batch of the same shape)."""
        self._names += 1
        return f"{prefix}_{self._names}"

    def add(self, statement: Executable, row: dict | None = None) -> None:
        """An INSERT, UPSERT or UPDATE, with its values bound or given as ``row``, run with the batch."""
        if not self.combined:
            self.session.execute(statement, row)
        else:
            self._parts.append(statement.values(row) if row is not None else statement)

    def update(self, obj) -> None:
        """Write ``obj``'s changed columns with the batch instead of at the next flush.

        The unit of work then takes the object as written, so it sends no
        UPDATE of its own for these changes.
        """
        state = inspect(obj)
        changed = {attr.key: attr.value for attr in state.attrs if attr.history.has_changes()}
        if not changed:
            return
        mapper = state.mapper
        key = {column.key: getattr(obj, column.key) for column in mapper.primary_key}
        table = mapper.local_table
        self.add(update(table).where(*(table.c[name] == value for name, value in key.items())).values(changed))
        self._written.append((obj, changed))

    def run(self, read: Executable | None = None) -> list | None:
        """Send the batch; with ``read``, a SELECT answered in the same statement, whose rows it returns.

        The read sees the database as it was before the batch's writes, so it
        must not look for them.
        """
        rows = None
        if self._parts:
            statement = read if read is not None else select(literal(1))
            result = self.session.execute(statement.add_cte(
                *(part.cte(f"write_{n}") for n, part in enumerate(self._parts))))
            rows = result.all() if read is not None else None
            self._parts = []
        elif read is not None:
            rows = self.session.execute(read).all()
        for obj, changed in self._written:
            for name, value in changed.items():
                set_committed_value(obj, name, value)
        self._written = []
        return rows
