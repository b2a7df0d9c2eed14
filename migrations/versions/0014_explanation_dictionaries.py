"""storage: each rules version keeps a dictionary its events' explanations are deflated against

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24 06:00:00

Existing versions get theirs now, so the active one's next events are packed
small too; explanations already stored keep their format and read as before
(loyalty/explanations.py). A version whose text no longer compiles keeps
none, and its events are packed as before.
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def _dictionaries(connection):
    """(version, dictionary, digest) for every stored version that still compiles."""
    from loyalty import explanations
    from loyalty.engine import RulesInvalid, load_program
    from loyalty.models.types import UTCDateTime

    rows = connection.execute(sa.text('SELECT version, yaml, published_at FROM rules_versions')
                              .columns(published_at=UTCDateTime)).all()
    for version, text, published_at in rows:
        try:
            program = load_program(text, 'program.yaml')
        except RulesInvalid:
            continue
        dictionary = explanations.build_dictionary(program, published_at)
        yield version, dictionary, explanations.digest(dictionary)


def upgrade():
    with op.batch_alter_table('rules_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('explanation_dictionary', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('dictionary_digest', sa.String(length=64), nullable=True))
    connection = op.get_bind()
    filled = [{'version': version, 'dictionary': dictionary, 'digest': digest}
              for version, dictionary, digest in _dictionaries(connection)]
    if filled:
        connection.execute(
            sa.text('UPDATE rules_versions SET explanation_dictionary = :dictionary, dictionary_digest = :digest'
                    ' WHERE version = :version').bindparams(sa.bindparam('dictionary', type_=sa.LargeBinary)),
            filled)


def downgrade():
    """Explanations packed against a dictionary are repacked as the app read them before 0014."""
    from loyalty import explanations
    from loyalty.models.types import pack_json

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
        repacked = [{'event_id': id_, 'packed': pack_json(explanations.unpack(packed, dictionaries.get(version)))}
                    for id_, version, packed in rows if explanations.needs_dictionary(packed)]
        if repacked:
            connection.execute(events.update().where(events.c.id == sa.bindparam('event_id'))
                               .values(explanation=sa.bindparam('packed')), repacked)
        last = rows[-1][0]
    with op.batch_alter_table('rules_versions', schema=None) as batch_op:
        batch_op.drop_column('dictionary_digest')
        batch_op.drop_column('explanation_dictionary')
