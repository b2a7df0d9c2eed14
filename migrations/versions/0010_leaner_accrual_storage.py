"""storage: event items and attributes packed; no index on ledger entries by event; BRIN for entries by time

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 23:00:00

Existing items and attributes are packed as plain zlib streams, which the
app reads as it reads explanations packed by 0009; what the app writes from
now on is deflated against its dictionary (kept in migrations/packed_formats.py).
"""
import json
import zlib

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BATCH = 5000
PACKED = ('items', 'attributes')


def _convert(pairs: list[tuple[sa.ColumnClause, sa.ColumnClause]], convert) -> None:
    """For each (from, to) column pair of events, write convert(from) into to, a batch at a time."""
    connection = op.get_bind()
    events = sa.table('events', sa.column('id', sa.String), *{c.name: c for pair in pairs for c in pair}.values())
    sources = [events.c[source.name] for source, _ in pairs]
    last = ''
    while True:
        rows = connection.execute(
            sa.select(events.c.id, *sources).where(events.c.id > last).order_by(events.c.id).limit(BATCH)).all()
        if not rows:
            return
        connection.execute(
            events.update().where(events.c.id == sa.bindparam('event_id'))
            .values({target.name: sa.bindparam(f'new_{target.name}') for _, target in pairs}),
            [{'event_id': row[0], **{f'new_{target.name}': convert(value) for (_, target), value
                                     in zip(pairs, row[1:], strict=True)}} for row in rows])
        last = rows[-1][0]


def _zlib(value):
    if value is None:
        return None
    return zlib.compress(json.dumps(value, separators=(',', ':'), ensure_ascii=False).encode('utf-8'), 9)


def _unpacked(value):
    """A packed value as JSON: the frozen reader knows every format the app wrote up to 0016."""
    from packed_formats import unpack_json

    return None if value is None else unpack_json(value)


def _retype(old_type, new_type, suffix: str, convert) -> None:
    """Give the PACKED columns of events ``new_type``: a new column each, filled by convert, then renamed."""
    with op.batch_alter_table('events', schema=None) as batch_op:
        for name in PACKED:
            batch_op.add_column(sa.Column(f'{name}_{suffix}', new_type(), nullable=True))
    _convert([(sa.column(name, old_type()), sa.column(f'{name}_{suffix}', new_type())) for name in PACKED], convert)
    with op.batch_alter_table('events', schema=None) as batch_op:
        for name in PACKED:
            batch_op.drop_column(name)
            batch_op.alter_column(f'{name}_{suffix}', new_column_name=name, existing_type=new_type())


def upgrade():
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_event_id')
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_ledger_entries_created_at', table_name='ledger_entries')
        op.create_index('ix_ledger_entries_created_at', 'ledger_entries', ['created_at'], unique=False,
                        postgresql_using='brin', postgresql_with={'autosummarize': 'on'})
    _retype(sa.JSON, sa.LargeBinary, 'packed', _zlib)


def downgrade():
    _retype(sa.LargeBinary, sa.JSON, 'json', _unpacked)
    # 0009 reads explanations as plain zlib streams only.
    explanation = sa.column('explanation', sa.LargeBinary())
    _convert([(explanation, explanation)], lambda value: _zlib(_unpacked(value)))
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_ledger_entries_created_at', table_name='ledger_entries')
        op.create_index('ix_ledger_entries_created_at', 'ledger_entries', ['created_at'], unique=False)
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_event_id', ['event_id'], unique=False)
