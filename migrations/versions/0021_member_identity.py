"""member identity: merges (members.merged_into_id, member_aliases) and point transfers

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 23:10:00

A merged member keeps its row and its ledger as history and names the member
it was merged into; its external id and email become aliases of that member.
Ledger entries gain two types, ``merge`` and ``transfer``: the pair of entries
that moves points from one member to another.
"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

OLD_TYPES = "type IN ('earn', 'redeem', 'void', 'reverse', 'expire', 'adjust')"
NEW_TYPES = "type IN ('earn', 'redeem', 'void', 'reverse', 'expire', 'adjust', 'merge', 'transfer')"


def _entry_types(allowed: str) -> None:
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_ledger_entries_entry_type'), type_='check')
        batch_op.create_check_constraint('entry_type', allowed)


def upgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('merged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_members_merged_into_id_members'), 'members',
                                    ['merged_into_id'], ['id'])
    _entry_types(NEW_TYPES)
    op.create_table(
        'member_aliases',
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('value', sa.String(length=320), nullable=False),
        sa.Column('member_id', sa.String(length=32), nullable=False),
        sa.Column('merged_member_id', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_aliases_member_id_members')),
        sa.ForeignKeyConstraint(['merged_member_id'], ['members.id'],
                                name=op.f('fk_member_aliases_merged_member_id_members')),
        sa.PrimaryKeyConstraint('kind', 'value', name=op.f('pk_member_aliases')),
    )
    op.create_index(op.f('ix_member_aliases_member_id'), 'member_aliases', ['member_id'], unique=False)
    op.create_table(
        'point_transfers',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('from_member_id', sa.String(length=32), nullable=False),
        sa.Column('to_member_id', sa.String(length=32), nullable=False),
        sa.Column('points', sa.BigInteger(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('actor', sa.String(length=100), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['from_member_id'], ['members.id'],
                                name=op.f('fk_point_transfers_from_member_id_members')),
        sa.ForeignKeyConstraint(['to_member_id'], ['members.id'], name=op.f('fk_point_transfers_to_member_id_members')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_point_transfers')),
    )
    op.create_index('ix_point_transfers_from_created', 'point_transfers', ['from_member_id', 'created_at'],
                    unique=False)
    op.create_index(op.f('ix_point_transfers_to_member_id'), 'point_transfers', ['to_member_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_point_transfers_to_member_id'), table_name='point_transfers')
    op.drop_index('ix_point_transfers_from_created', table_name='point_transfers')
    op.drop_table('point_transfers')
    op.drop_index(op.f('ix_member_aliases_member_id'), table_name='member_aliases')
    op.drop_table('member_aliases')
    # The old constraint knows no merge or transfer entries: they become adjustments, which keep
    # every balance (their reason still says what they were).
    op.execute("UPDATE ledger_entries SET type = 'adjust' WHERE type IN ('merge', 'transfer')")
    _entry_types(OLD_TYPES)
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_members_merged_into_id_members'), type_='foreignkey')
        batch_op.drop_column('merged_at')
        batch_op.drop_column('merged_into_id')
