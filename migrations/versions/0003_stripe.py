"""stripe webhook events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:31:30.554275

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stripe_events',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('object_id', sa.String(length=255), nullable=True),
    sa.Column('source_id', sa.String(length=255), nullable=True),
    sa.Column('stripe_customer_id', sa.String(length=255), nullable=True),
    sa.Column('client_reference_id', sa.String(length=255), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('member_id', sa.String(length=32), nullable=True),
    sa.Column('event_id', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_stripe_events_event_id_events')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_stripe_events_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_events'))
    )
    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stripe_events_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_stripe_events_source_id'), ['source_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stripe_events_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stripe_events_status'))
        batch_op.drop_index(batch_op.f('ix_stripe_events_source_id'))
        batch_op.drop_index(batch_op.f('ix_stripe_events_received_at'))

    op.drop_table('stripe_events')
