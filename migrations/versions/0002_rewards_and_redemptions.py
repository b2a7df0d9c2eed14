"""rewards and redemptions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:30:18.979451

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    
    op.create_table('reward_stock',
    sa.Column('reward_id', sa.String(length=64), nullable=False),
    sa.Column('issued', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('reward_id', name=op.f('pk_reward_stock'))
    )
    op.create_table('redemptions',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('member_id', sa.String(length=32), nullable=False),
    sa.Column('reward_id', sa.String(length=64), nullable=False),
    sa.Column('points_spent', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('entry_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stripe_promotion_code', sa.String(length=255), nullable=True),
    sa.Column('stripe_coupon', sa.String(length=255), nullable=True),
    sa.Column('rules_version', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=True),
    sa.CheckConstraint("status IN ('issued', 'completed', 'voided', 'expired')", name=op.f('ck_redemptions_status')),
    sa.ForeignKeyConstraint(['entry_seq'], ['ledger_entries.seq'], name=op.f('fk_redemptions_entry_seq_ledger_entries')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_redemptions_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemptions')),
    sa.UniqueConstraint('code', name=op.f('uq_redemptions_code'))
    )
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_redemptions_member_issued', ['member_id', 'issued_at'], unique=False)
        batch_op.create_index('ix_redemptions_status_expires', ['status', 'expires_at'], unique=False)




def downgrade():
    
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_redemptions_status_expires')
        batch_op.drop_index('ix_redemptions_member_issued')

    op.drop_table('redemptions')
    op.drop_table('reward_stock')

