"""audit: who published, rolled back, adjusted, created or revoked a key, erased; append-only

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 21:30:00

The table takes inserts only: a trigger refuses every UPDATE and DELETE, on
PostgreSQL and on SQLite alike, so no code path (nor a hurried operator with
psql) can edit history.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

REFUSAL = 'the audit log is append-only: its rows are never updated or deleted'


def upgrade():
    op.create_table(
        'audit_log',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=100), nullable=True),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('target', sa.String(length=255), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('details', sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True),
                                                                      'postgresql'), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    )
    op.create_index('ix_audit_log_at', 'audit_log', ['at', 'id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"""CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$""")
        op.execute('CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log'
                   ' FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()')
    else:
        for event in ('UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log"
                       f" BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER audit_log_append_only ON audit_log')
        op.execute('DROP FUNCTION audit_log_refuse_change()')
    op.drop_index('ix_audit_log_at', table_name='audit_log')
    op.drop_table('audit_log')
