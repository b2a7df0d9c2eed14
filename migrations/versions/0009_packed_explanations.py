"""storage: event explanations stored zlib-compressed

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-23 20:45:00

"""
import json
import zlib

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None

BATCH = 5000


def _convert(column_from, column_to, convert) -> None:
    """Copy every event's explanation into the new column, a batch at a time."""
    connection = op.get_bind()
    events = sa.table('events', sa.column('id', sa.String), column_from, column_to)
    column_from, column_to = column_from.name, column_to.name
    last = ''
    while True:
        rows = connection.execute(
            sa.select(events.c.id, events.c[column_from]).where(events.c.id > last)
            .order_by(events.c.id).limit(BATCH)).all()
        if not rows:
            return
        connection.execute(
            events.update().where(events.c.id == sa.bindparam('event_id')).values({column_to: sa.bindparam('value')}),
            [{'event_id': event_id, 'value': convert(value)} for event_id, value in rows])
        last = rows[-1][0]


def _pack(value) -> bytes:
    return zlib.compress(json.dumps(value, separators=(',', ':'), ensure_ascii=False).encode('utf-8'), 9)


def _unpack(value: bytes):
    return json.loads(zlib.decompress(value))


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('explanation_packed', sa.LargeBinary(), nullable=True))
    _convert(sa.column('explanation', sa.JSON()), sa.column('explanation_packed', sa.LargeBinary()), _pack)
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('explanation')
        batch_op.alter_column('explanation_packed', new_column_name='explanation', nullable=False,
                              existing_type=sa.LargeBinary())


def downgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('explanation_json', sa.JSON(), nullable=True))
    _convert(sa.column('explanation', sa.LargeBinary()), sa.column('explanation_json', sa.JSON()), _unpack)
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('explanation')
        batch_op.alter_column('explanation_json', new_column_name='explanation', nullable=False,
                              existing_type=sa.JSON())
