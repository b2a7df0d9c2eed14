"""storage: idempotency answers deflated, fingerprints as raw digests, the member an answer is about

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 10:00:00

The columns become binary holding the UTF-8 bytes of their text (a cast the
database does), then every stored answer is packed as the app then wrote it
(migrations/packed_formats.py), its fingerprint decoded from hex, and its
member_id read from the answer, so erasure finds the answers stored before
too. The table holds only the retention window's keys (72 h by default).
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

BATCH = 5000
RECORDS = sa.table('idempotency_records', sa.column('scope', sa.String), sa.column('key', sa.String),
                   sa.column('fingerprint', sa.LargeBinary), sa.column('body', sa.LargeBinary),
                   sa.column('member_id', sa.String))


def _rewrite(read: tuple[str, ...], written: tuple[str, ...], convert) -> None:
    """Set ``written`` columns of every record to ``convert(*its read columns)``, a batch at a time in key order."""
    connection = op.get_bind()
    pk = sa.tuple_(RECORDS.c.scope, RECORDS.c.key)
    update = RECORDS.update().where(RECORDS.c.scope == sa.bindparam('b_scope'),
                                    RECORDS.c.key == sa.bindparam('b_key'))
    last = None
    while True:
        query = sa.select(RECORDS.c.scope, RECORDS.c.key, *(RECORDS.c[name] for name in read))
        if last is not None:
            query = query.where(pk > sa.tuple_(*(sa.literal(value) for value in last)))
        rows = connection.execute(query.order_by(RECORDS.c.scope, RECORDS.c.key).limit(BATCH)).all()
        if not rows:
            return
        connection.execute(update.values({name: sa.bindparam(f'new_{name}') for name in written}), [
            {'b_scope': row[0], 'b_key': row[1], **dict(zip((f'new_{name}' for name in written),
                                                            convert(*row[2:]), strict=True))}
            for row in rows])
        last = rows[-1][:2]


def _packed(fingerprint: bytes, body: bytes | None):
    """(raw digest, packed answer, its member) from the hex digest and answer text written before."""
    from packed_formats import member_of, pack_answer

    if body is None:
        return bytes.fromhex(fingerprint.decode('ascii')), None, None
    text = bytes(body).decode('utf-8')
    return bytes.fromhex(fingerprint.decode('ascii')), pack_answer(text), member_of(json.loads(text))


def _plain(fingerprint: bytes, body: bytes | None):
    """(hex digest, answer text) as UTF-8 bytes, which the cast back to text reads."""
    from packed_formats import unpack_answer

    return bytes(fingerprint).hex().encode('ascii'), None if body is None else unpack_answer(body).encode('utf-8')


def upgrade():
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.alter_column('fingerprint', existing_type=sa.String(length=64), type_=sa.LargeBinary(),
                              existing_nullable=False, postgresql_using="convert_to(fingerprint, 'UTF8')")
        batch_op.alter_column('body', existing_type=sa.Text(), type_=sa.LargeBinary(), existing_nullable=True,
                              postgresql_using="convert_to(body, 'UTF8')")
        batch_op.add_column(sa.Column('member_id', sa.String(length=32), nullable=True))
    _rewrite(('fingerprint', 'body'), ('fingerprint', 'body', 'member_id'), _packed)


def downgrade():
    _rewrite(('fingerprint', 'body'), ('fingerprint', 'body'), _plain)
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.drop_column('member_id')
        batch_op.alter_column('body', existing_type=sa.LargeBinary(), type_=sa.Text(), existing_nullable=True,
                              postgresql_using="convert_from(body, 'UTF8')")
        batch_op.alter_column('fingerprint', existing_type=sa.LargeBinary(), type_=sa.String(length=64),
                              existing_nullable=False, postgresql_using="convert_from(fingerprint, 'UTF8')")
