"""report indexes: ledger entries by time

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 18:08:00

"""
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_created_at', ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_created_at')
