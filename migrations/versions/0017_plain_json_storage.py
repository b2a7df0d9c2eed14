"""storage: plain data a merchant can query: event items, attributes and explanations as JSON; answers as text

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-26 09:00:00

Event items and attributes become JSON (JSONB on PostgreSQL) as they were
given. Explanations become JSON too (PostgreSQL's ``json``, the compact text:
read whole, it takes a fifth less room than JSONB): the lines recorded
before keep their words, ``{"rule_id", "matched", "points", "reason"}``,
which the app reads as they are; lines recorded from now on are the
engine's facts. A stored
idempotency answer becomes its JSON text. Everything is unpacked by the
frozen readers of migrations/packed_formats.py, an explanation against its
rules version's dictionary where it was packed against one, and the
dictionaries go.

The downgrade packs everything back as the release at 0016 wrote it: items,
attributes and explanations against the preset dictionary (format 0x01,
which that release reads under every rules version), answers against the
answer dictionary. The dictionary columns come back empty, as 0014 left
them; that release's ``flask rules dictionaries`` gives the versions theirs
again. Explanations recorded as facts are put into words by the engine first.

Every event and stored answer is rewritten, so on PostgreSQL a ``VACUUM
FULL events, idempotency_records`` afterwards gives back the old rows' room.
"""
import json

import sqlalchemy as sa
from alembic import op
from row_rewrite import JSONColumn as _JSON
from row_rewrite import rewrite_rows as _rewrite

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

EVENT_COLUMNS = {'items': (_JSON(), True), 'attributes': (_JSON(), True), 'explanation': (_JSON(binary=False), False)}


def _retype(table: str, keys: tuple[str, ...], old: dict, new: dict, convert, extra_read: dict | None = None) -> None:
    """Give the columns of ``table`` named in ``new`` (name → (type, nullable)) their new type: a new
    column each, filled with ``convert(row)`` of the ``old`` columns (name → type), then renamed."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name, (type_, _) in new.items():
            batch_op.add_column(sa.Column(f'{name}_new', _column_type(type_), nullable=True))
    _rewrite(table, keys, {**(extra_read or {}), **old}, {f'{name}_new': type_ for name, (type_, _) in new.items()},
             lambda row: {f'{name}_new': value for name, value in convert(row).items()})
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name, (type_, nullable) in new.items():
            batch_op.drop_column(name)
            batch_op.alter_column(f'{name}_new', new_column_name=name, existing_type=_column_type(type_),
                                  nullable=nullable)


def _column_type(type_):
    return type_.column_type() if isinstance(type_, _JSON) else type_


def _dictionaries() -> dict:
    return dict(op.get_bind().execute(sa.text('SELECT version, explanation_dictionary FROM rules_versions')).all())


def _in_words(lines: list[dict]) -> list[dict]:
    """The lines as the release at 0016 read them: facts worded by the engine; lines with words kept."""
    if all('code' not in line for line in lines):
        return lines
    from loyalty.engine import explanation_words

    return explanation_words(lines, None)


def upgrade():
    from packed_formats import unpack_answer, unpack_explanation, unpack_json

    dictionaries = _dictionaries()

    def plain_event(row) -> dict:
        return {'items': None if row['items'] is None else unpack_json(row['items']),
                'attributes': None if row['attributes'] is None else unpack_json(row['attributes']),
                'explanation': unpack_explanation(row['explanation'], dictionaries.get(row['rules_version']))}

    _retype('events', ('id',), dict.fromkeys(EVENT_COLUMNS, sa.LargeBinary()), EVENT_COLUMNS, plain_event,
            extra_read={'rules_version': sa.Integer()})
    _retype('idempotency_records', ('scope', 'key'), {'body': sa.LargeBinary()}, {'body': (sa.Text(), True)},
            lambda row: {'body': None if row['body'] is None else unpack_answer(row['body'])})
    with op.batch_alter_table('rules_versions', schema=None) as batch_op:
        batch_op.drop_column('dictionary_digest')
        batch_op.drop_column('explanation_dictionary')


def downgrade():
    from packed_formats import pack_answer, pack_json

    with op.batch_alter_table('rules_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('explanation_dictionary', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('dictionary_digest', sa.String(length=64), nullable=True))

    def packed_event(row) -> dict:
        return {'items': None if row['items'] is None else pack_json(row['items']),
                'attributes': None if row['attributes'] is None else pack_json(row['attributes']),
                'explanation': pack_json(_in_words(row['explanation']))}

    _retype('idempotency_records', ('scope', 'key'), {'body': sa.Text()}, {'body': (sa.LargeBinary(), True)},
            lambda row: {'body': None if row['body'] is None else pack_answer(row['body'])})
    _retype('events', ('id',), {name: type_ for name, (type_, _) in EVENT_COLUMNS.items()},
            {'items': (sa.LargeBinary(), True), 'attributes': (sa.LargeBinary(), True),
             'explanation': (sa.LargeBinary(), False)}, packed_event)
