"""storage: lots no longer name their entry; entry ids not indexed; BRIN for events by time

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 04:00:00

Nothing reads ``lots.entry_seq`` (an award's lot and its earn entry share
member, event and rule), so it goes with its foreign key, checked on every
insert. Nothing looks a ledger entry up by its public id, which holds
80 random bits: its unique index goes. Events arrive in about the order
they occurred, so on PostgreSQL their index by time becomes a BRIN index, as
0010 did for ledger entries. Downgrading puts ``entry_seq`` back empty.
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def _occurred_at_index(brin: bool) -> None:
    op.drop_index('ix_events_occurred_at', table_name='events')
    if brin:
        op.create_index('ix_events_occurred_at', 'events', ['occurred_at'], unique=False,
                        postgresql_using='brin', postgresql_with={'autosummarize': 'on'})
    else:
        op.create_index('ix_events_occurred_at', 'events', ['occurred_at'], unique=False)


def upgrade():
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.drop_constraint('fk_lots_entry_seq_ledger_entries', type_='foreignkey')
        batch_op.drop_column('entry_seq')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_constraint('uq_ledger_entries_id', type_='unique')
    if op.get_bind().dialect.name == 'postgresql':
        _occurred_at_index(brin=True)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        _occurred_at_index(brin=False)
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_ledger_entries_id', ['id'])
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entry_seq', sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key('fk_lots_entry_seq_ledger_entries', 'ledger_entries', ['entry_seq'], ['seq'])
