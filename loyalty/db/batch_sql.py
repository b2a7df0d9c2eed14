"""SQL for statements over a batch of thousands of rows, on SQLite and PostgreSQL alike.

A batch's list (member ids, new entry ids) travels as one bound parameter
whatever its length, and PostgreSQL plans each batch's statements for the
lists they actually carry.
"""

import json
from contextlib import contextmanager

from sqlalchemy import Integer, String, any_, column, func, literal, select, table, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session


def among(session: Session, column, values: list[str]):
    """`column` IN `values`, as one bound parameter whatever their number."""
    if _postgres(session):
        return column == any_(literal(values, ARRAY(String)))
    return column.in_(select(func.json_each(json.dumps(values)).table_valued("value").c.value))


def numbered_ids(session: Session, ids: list[str]):
    """`ids` as a table (n, txn_id), n counting from 1.

    PostgreSQL unnests one array parameter (as a CTE, read once). SQLite's
    json_each cannot be joined on position without a scan per row, so there
    the ids go into a temporary table keyed by n (per connection, emptied
    each time).
    """
    if _postgres(session):
        unnested = func.unnest(literal(ids, ARRAY(String))).table_valued("txn_id", with_ordinality="n")
        unnested = unnested.render_derived()
        return select(unnested.c.txn_id, unnested.c.n).cte("new_ids")
    session.execute(text("CREATE TEMP TABLE IF NOT EXISTS new_entry_ids (n INTEGER PRIMARY KEY, txn_id TEXT NOT NULL)"))
    session.execute(text("DELETE FROM new_entry_ids"))
    session.execute(text("INSERT INTO new_entry_ids (n, txn_id) VALUES (:n, :txn_id)"),
                    [{"n": n, "txn_id": txn_id} for n, txn_id in enumerate(ids, start=1)])
    return table("new_entry_ids", column("n", Integer), column("txn_id", String))


@contextmanager
def unprepared(session: Session):
    """On PostgreSQL, plan each statement for the lists it carries, and compile none (JIT).

    psycopg prepares a statement it has run 5 times, and PostgreSQL may then
    keep one generic plan for it, which guesses 10 elements a list and joins
    a batch in quadratic time. ``plan_cache_mode = force_custom_plan``
    avoids that but also replans the foreign-key check of every row
    inserted, which doubles an insert's cost; so within the block psycopg
    prepares nothing, and each statement is planned once, for its own lists.
    A batch's statements run longer than JIT would take to compile them.
    """
    if not _postgres(session):
        yield
        return
    session.execute(text("SET LOCAL jit = off"))
    driver = session.connection().connection.driver_connection
    threshold, driver.prepare_threshold = driver.prepare_threshold, None
    try:
        yield
    finally:
        driver.prepare_threshold = threshold


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
