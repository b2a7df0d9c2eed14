"""storage: a member-day's qualifying points and day counters in one row (member_days)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-25 07:00:00

An accrual wrote two rows per member-day: its qualifying points and its
daily cap count. ``member_days`` holds both. The old rows are moved into
it; the old tables stay, for the processes of the older release still
running during the upgrade, and what they write there meanwhile is moved
by the next ``purge-counters`` job step (loyalty/retention.py). A later
release drops ``qualifying_points``.
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    from legacy_counters import fold_legacy_counters

    op.create_table(
        'member_days',
        sa.Column('member_id', sa.String(length=32), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('qualifying_points', sa.BigInteger(), nullable=False),
        sa.Column('usage', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_days_member_id_members')),
        sa.PrimaryKeyConstraint('member_id', 'day', name=op.f('pk_member_days')),
    )
    fold_legacy_counters(op.get_bind())


def downgrade():
    """Back to a qualifying_points row and a rule_usage row per counter and day."""
    import json

    connection = op.get_bind()
    days = sa.table('member_days', sa.column('member_id', sa.String), sa.column('day', sa.Date),
                    sa.column('qualifying_points', sa.BigInteger), sa.column('usage', sa.Text))
    qualifying = sa.table('qualifying_points', sa.column('member_id', sa.String), sa.column('day', sa.Date),
                          sa.column('points', sa.BigInteger))
    usage = sa.table('rule_usage', sa.column('member_id', sa.String), sa.column('counter_id', sa.String),
                     sa.column('period_key', sa.String), sa.column('used', sa.BigInteger))
    last = ('', None)
    while True:
        query = sa.select(days).order_by(days.c.member_id, days.c.day).limit(5000)
        if last[1] is not None:
            query = query.where(sa.tuple_(days.c.member_id, days.c.day) > sa.tuple_(*last))
        rows = connection.execute(query).all()
        if not rows:
            break
        points = [{'member_id': m, 'day': d, 'points': q} for m, d, q, _ in rows if q]
        counts = [{'member_id': m, 'counter_id': counter, 'period_key': d.isoformat(), 'used': used}
                  for m, d, _, used_by_counter in rows if used_by_counter
                  for counter, used in json.loads(used_by_counter).items()]
        if points:
            connection.execute(qualifying.insert(), points)
        if counts:
            connection.execute(usage.insert(), counts)
        last = (rows[-1][0], rows[-1][1])
    op.drop_table('member_days')
