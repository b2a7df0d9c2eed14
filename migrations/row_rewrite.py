"""Frozen helpers of the revisions that rewrite rows: the JSON columns as the app binds them, and a
rewrite of every row of a table, a batch at a time."""

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

BATCH = 5000


class JSONColumn(sa.types.TypeDecorator):
    """JSON bound as compact text, as the app writes it: JSONB on PostgreSQL, or its ``json`` (the text as
    written) with ``binary=False``; JSON text on SQLite. None is SQL NULL."""

    impl = sa.JSON
    cache_ok = True

    def __init__(self, binary: bool = True):
        super().__init__(none_as_null=True)
        self.binary = binary

    def column_type(self):
        """The column's type as DDL gives it."""
        kind = postgresql.JSONB if self.binary else postgresql.JSON
        return sa.JSON(none_as_null=True).with_variant(kind(none_as_null=True), 'postgresql')

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(self.column_type().dialect_impl(dialect))

    def bind_processor(self, dialect):
        def compact(value):
            return None if value is None else json.dumps(value, separators=(',', ':'), ensure_ascii=False)

        return compact


def rewrite_rows(table: str, keys: tuple[str, ...], read: dict, written: dict, convert) -> None:
    """Set the ``written`` columns of every row to ``convert(row)``, a batch at a time in key order."""
    connection = op.get_bind()
    rows_of = sa.table(table, *(sa.column(name, sa.String) for name in keys),
                       *(sa.column(name, type_) for name, type_ in {**read, **written}.items()))
    key = sa.tuple_(*(rows_of.c[name] for name in keys))
    update = rows_of.update().where(*(rows_of.c[name] == sa.bindparam(f'b_{name}') for name in keys)).values(
        {name: sa.bindparam(f'new_{name}') for name in written})
    last = None
    while True:
        query = sa.select(*(rows_of.c[name] for name in (*keys, *read)))
        if last is not None:
            query = query.where(key > sa.tuple_(*(sa.literal(value) for value in last)))
        rows = connection.execute(query.order_by(*(rows_of.c[name] for name in keys)).limit(BATCH)).mappings().all()
        if not rows:
            return
        connection.execute(update, [
            {**{f'b_{name}': row[name] for name in keys},
             **{f'new_{name}': value for name, value in convert(row).items()}} for row in rows])
        last = tuple(rows[-1][name] for name in keys)
