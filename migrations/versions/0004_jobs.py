"""jobs: indexes for due lots, pending lots and tier holds; progress of lot re-dating

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lot_redatings',
    sa.Column('rules_version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_lot_id', sa.BigInteger(), nullable=False),
    sa.Column('lots', sa.BigInteger(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('rules_version', name=op.f('pk_lot_redatings'))
    )
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.create_index('ix_lots_due', ['expires_at', 'id'], unique=False,
                              postgresql_where=sa.text("status = 'active' AND remaining > 0"),
                              sqlite_where=sa.text("status = 'active' AND remaining > 0"))
        batch_op.create_index('ix_lots_pending', ['available_at', 'id'], unique=False,
                              postgresql_where=sa.text("status = 'pending'"),
                              sqlite_where=sa.text("status = 'pending'"))
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.create_index('ix_members_tier_expires_at', ['tier_expires_at'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        # Every earn, spend and expiry rewrites a member row (its balance, no indexed column):
        # room left on the page lets PostgreSQL update it in place (HOT) instead of in every index.
        op.execute('ALTER TABLE members SET (fillfactor = 80)')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE members RESET (fillfactor)')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index('ix_members_tier_expires_at')
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.drop_index('ix_lots_pending')
        batch_op.drop_index('ix_lots_due')
    op.drop_table('lot_redatings')
