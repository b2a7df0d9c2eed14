"""streaks: each member's state on each streak, and the events that counted for one

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08 02:00:00

member_streaks holds a member's count toward a streak's completion, the run of
periods, the best run, the completions and the last period counted.
streak_entries holds every event that counted for a streak (taken back by a
whole refund, never deleted) with the state it replaced, so that a refund of
a period's only event can give the period back.
"""
import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

BIG_KEY = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table(
        'member_streaks',
        sa.Column('member_id', sa.String(length=32), nullable=False),
        sa.Column('streak_id', sa.String(length=64), nullable=False),
        sa.Column('current', sa.Integer(), nullable=False),
        sa.Column('run', sa.Integer(), nullable=False),
        sa.Column('best', sa.Integer(), nullable=False),
        sa.Column('completed', sa.Integer(), nullable=False),
        sa.Column('last_period', sa.Date(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_streaks_member_id_members')),
        sa.PrimaryKeyConstraint('member_id', 'streak_id', name=op.f('pk_member_streaks')),
    )
    op.create_table(
        'streak_entries',
        sa.Column('id', BIG_KEY, autoincrement=True, nullable=False),
        sa.Column('member_id', sa.String(length=32), nullable=False),
        sa.Column('streak_id', sa.String(length=64), nullable=False),
        sa.Column('event_id', sa.String(length=32), nullable=False),
        sa.Column('period', sa.Date(), nullable=False),
        sa.Column('gives', sa.Boolean(), nullable=False),
        sa.Column('completes', sa.Boolean(), nullable=False),
        sa.Column('before_current', sa.Integer(), nullable=False),
        sa.Column('before_run', sa.Integer(), nullable=False),
        sa.Column('before_best', sa.Integer(), nullable=False),
        sa.Column('before_last_period', sa.Date(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('taken_back_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('active', 'taken_back')", name=op.f('ck_streak_entries_status')),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_streak_entries_event_id_events')),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_streak_entries_member_id_members')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_streak_entries')),
    )
    op.create_index('ix_streak_entries_member_period', 'streak_entries', ['member_id', 'streak_id', 'period'])
    op.create_index('ix_streak_entries_event', 'streak_entries', ['event_id'])


def downgrade():
    op.drop_index('ix_streak_entries_event', table_name='streak_entries')
    op.drop_index('ix_streak_entries_member_period', table_name='streak_entries')
    op.drop_table('streak_entries')
    op.drop_table('member_streaks')
