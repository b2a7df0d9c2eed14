"""members: search_text, for finding a member as staff type them (accents and phone punctuation aside)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 21:40:00

Names, email and external id folded (lower case, accents off) and the
phone's digits, in one column the members desk searches. Existing members
get theirs here; the fold below is a frozen copy of the app's.
"""
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

BATCH = 5000
MEMBERS = sa.table('members', *(sa.column(name) for name in (
    'id', 'first_name', 'last_name', 'email', 'external_id', 'phone', 'search_text')))


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize('NFKD', text.casefold())
    return ''.join(char for char in decomposed if not unicodedata.combining(char))


def _search_text(row) -> str | None:
    words = [_fold(value) for value in (row.first_name, row.last_name, row.email, row.external_id) if value]
    phone = re.sub(r'\D', '', row.phone or '')
    if phone:
        words.append(phone)
    return ' '.join(words) or None


def upgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), nullable=True))
    connection, last = op.get_bind(), ''
    update = MEMBERS.update().where(MEMBERS.c.id == sa.bindparam('member_id')).values(
        search_text=sa.bindparam('text'))
    while True:
        rows = connection.execute(sa.select(MEMBERS).where(MEMBERS.c.id > last).order_by(MEMBERS.c.id)
                                  .limit(BATCH)).all()
        if not rows:
            return
        connection.execute(update, [{'member_id': row.id, 'text': _search_text(row)} for row in rows])
        last = rows[-1].id


def downgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('search_text')
