"""cards and challenges: stamps, progress, completions, badges; card codes; reminders sent

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 23:00:00

card_stamps holds one row per stamp a purchase gave (taken back by a whole
refund, never deleted), member_cards each member's count on the current card.
A code a card issues costs no points, so redemptions.entry_seq becomes
nullable and redemptions.card_id says which card issued it. expiry_reminders
and tier_reminders make points.expiring and tier.expiring once per lot and
once per tier hold. challenge_entries (what each event added to a challenge),
challenge_completions (once per member, challenge and period) and
member_badges hold challenges and badges.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

BIG_KEY = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table(
        'card_stamps',
        sa.Column('id', BIG_KEY, autoincrement=True, nullable=False),
        sa.Column('member_id', sa.String(length=32), nullable=False),
        sa.Column('card_id', sa.String(length=64), nullable=False),
        sa.Column('event_id', sa.String(length=32), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('once_day', sa.Date(), nullable=True),
        sa.Column('stamp', sa.Integer(), nullable=False),
        sa.Column('of', sa.Integer(), nullable=False),
        sa.Column('completes', sa.Boolean(), nullable=False),
        sa.Column('redemption_id', sa.String(length=32), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('taken_back_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('active', 'taken_back')", name=op.f('ck_card_stamps_status')),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_card_stamps_event_id_events')),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_card_stamps_member_id_members')),
        sa.ForeignKeyConstraint(['redemption_id'], ['redemptions.id'],
                                name=op.f('fk_card_stamps_redemption_id_redemptions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_card_stamps')),
    )
    op.create_index('uq_card_stamps_once_a_day', 'card_stamps', ['member_id', 'card_id', 'once_day'], unique=True)
    op.create_index('ix_card_stamps_event', 'card_stamps', ['event_id'])
    op.create_table(
        'member_cards',
        sa.Column('member_id', sa.String(length=32), nullable=False),
        sa.Column('card_id', sa.String(length=64), nullable=False),
        sa.Column('stamps', sa.Integer(), nullable=False),
        sa.Column('completed', sa.Integer(), nullable=False),
        sa.Column('last_stamp_day', sa.Date(), nullable=True),
        sa.Column('redemption_id', sa.String(length=32), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_cards_member_id_members')),
        sa.ForeignKeyConstraint(['redemption_id'], ['redemptions.id'],
                                name=op.f('fk_member_cards_redemption_id_redemptions')),
        sa.PrimaryKeyConstraint('member_id', 'card_id', name=op.f('pk_member_cards')),
    )
    op.create_table(
        'expiry_reminders',
        sa.Column('lot_id', BIG_KEY, nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_expiry_reminders_lot_id_lots')),
        sa.PrimaryKeyConstraint('lot_id', name=op.f('pk_expiry_reminders')),
    )
    op.create_table(
        'tier_reminders',
        sa.Column('member_id', sa.String(length=32), nullable=False),
        sa.Column('tier_id', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_tier_reminders_member_id_members')),
        sa.PrimaryKeyConstraint('member_id', 'expires_at', name=op.f('pk_tier_reminders')),
    )
    op.create_table(
        'challenge_entries',
        sa.Column('id', BIG_KEY, autoincrement=True, nullable=False),
        sa.Column('member_id', sa.String(length=32), nullable=False),
        sa.Column('challenge_id', sa.String(length=64), nullable=False),
        sa.Column('event_id', sa.String(length=32), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('period_key', sa.String(length=16), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('categories', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('taken_back_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('active', 'taken_back')", name=op.f('ck_challenge_entries_status')),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_challenge_entries_event_id_events')),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_challenge_entries_member_id_members')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_challenge_entries')),
    )
    op.create_index('ix_challenge_entries_member_day', 'challenge_entries', ['member_id', 'challenge_id', 'day'])
    op.create_index('ix_challenge_entries_event', 'challenge_entries', ['event_id'])
    op.create_table(
        'challenge_completions',
        sa.Column('member_id', sa.String(length=32), nullable=False),
        sa.Column('challenge_id', sa.String(length=64), nullable=False),
        sa.Column('period_key', sa.String(length=16), nullable=False),
        sa.Column('event_id', sa.String(length=32), nullable=False),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_challenge_completions_event_id_events')),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'],
                                name=op.f('fk_challenge_completions_member_id_members')),
        sa.PrimaryKeyConstraint('member_id', 'challenge_id', 'period_key', name=op.f('pk_challenge_completions')),
    )
    op.create_table(
        'member_badges',
        sa.Column('member_id', sa.String(length=32), nullable=False),
        sa.Column('badge_id', sa.String(length=64), nullable=False),
        sa.Column('source', sa.String(length=80), nullable=False),
        sa.Column('earned_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_badges_member_id_members')),
        sa.PrimaryKeyConstraint('member_id', 'badge_id', name=op.f('pk_member_badges')),
    )
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.alter_column('entry_seq', existing_type=BIG_KEY, nullable=True)
        batch_op.add_column(sa.Column('card_id', sa.String(length=64), nullable=True))


def downgrade():
    # A card's code has no entry to point at: it cannot survive entry_seq turning NOT NULL again.
    op.execute('DELETE FROM card_stamps')
    op.execute('DELETE FROM member_cards')
    op.execute('DELETE FROM redemptions WHERE entry_seq IS NULL')
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_column('card_id')
        batch_op.alter_column('entry_seq', existing_type=BIG_KEY, nullable=False)
    op.drop_table('member_badges')
    op.drop_table('challenge_completions')
    op.drop_index('ix_challenge_entries_event', table_name='challenge_entries')
    op.drop_index('ix_challenge_entries_member_day', table_name='challenge_entries')
    op.drop_table('challenge_entries')
    op.drop_table('tier_reminders')
    op.drop_table('expiry_reminders')
    op.drop_table('member_cards')
    op.drop_index('ix_card_stamps_event', table_name='card_stamps')
    op.drop_index('uq_card_stamps_once_a_day', table_name='card_stamps')
    op.drop_table('card_stamps')
