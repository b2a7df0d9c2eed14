"""members: pages filled to 80 % on PostgreSQL, so a change of points is a HOT update

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24 05:00:00

Every accrual and redemption rewrites its member's row. With full pages the
new version lands on another page and goes into every index of members
(seven); with room left on the page it stays beside the old one and no
index changes. Pages written from now on keep the room; existing ones get
it when the table is rewritten (``VACUUM FULL`` or ``pg_repack``).
"""
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE members SET (fillfactor = 80)')  # loyalty.models.member.MEMBERS_FILLFACTOR


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE members RESET (fillfactor)')
