"""storage: lots not indexed by event

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-25 07:30:00

The index cost 57 bytes per accrual. An event's lots belong to its member
or to its member's referrer, so they are found by ``ix_lots_member_expiry``
(the event page, refunds, backtests). A release before this one still
works without it, only slower there.
"""
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.drop_index('ix_lots_event_id')


def downgrade():
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.create_index('ix_lots_event_id', ['event_id'], unique=False)
