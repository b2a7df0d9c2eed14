"""storage: each rules version keeps a dictionary its events' explanations are deflated against

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24 06:00:00

Adds the columns only. Versions published from now on get a dictionary; a
release before this one cannot read explanations packed against one, so
versions published before get theirs from ``flask --app app rules
dictionaries``, run once no process of an older release is left. Until
then their events are packed as before (migrations/packed_formats.py).
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rules_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('explanation_dictionary', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('dictionary_digest', sa.String(length=64), nullable=True))


def downgrade():
    """Explanations packed against a dictionary are repacked as the app read them before 0014."""
    from packed_formats import needs_dictionary, pack_json, unpack_explanation

    connection = op.get_bind()
    dictionaries = dict(connection.execute(
        sa.text('SELECT version, explanation_dictionary FROM rules_versions')).all())
    events = sa.table('events', sa.column('id', sa.String), sa.column('rules_version', sa.Integer),
                      sa.column('explanation', sa.LargeBinary))
    last = ''
    while True:
        rows = connection.execute(sa.select(events.c.id, events.c.rules_version, events.c.explanation)
                                  .where(events.c.id > last).order_by(events.c.id).limit(5000)).all()
        if not rows:
            break
        repacked = [{'event_id': id_, 'packed': pack_json(unpack_explanation(packed, dictionaries.get(version)))}
                    for id_, version, packed in rows if needs_dictionary(packed)]
        if repacked:
            connection.execute(events.update().where(events.c.id == sa.bindparam('event_id'))
                               .values(explanation=sa.bindparam('packed')), repacked)
        last = rows[-1][0]
    with op.batch_alter_table('rules_versions', schema=None) as batch_op:
        batch_op.drop_column('dictionary_digest')
        batch_op.drop_column('explanation_dictionary')
