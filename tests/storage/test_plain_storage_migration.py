"""Migration 0017: a database as the release at 0016 left it reads the same once its values are plain JSON.

Its rows are packed every way that release stored them: items, attributes and
explanations against the preset dictionary or as plain zlib streams (what
0010 converted), explanations against their rules version's dictionary, and
idempotency answers against the answer dictionary. Before the upgrade they
are read with that release's code (the frozen copy in migrations/); after it,
with the app's. The downgrade packs them back as that release reads them,
and upgrading again gives the same rows.
"""

import json
from hashlib import sha256

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from loyalty.extensions import db
from loyalty.http.idempotency import run_once
from loyalty.models import Event
from loyalty.services.events import explanations_of
from migrations.packed_formats import (
    RAW_DEFLATE,
    pack_answer,
    pack_explanation,
    pack_json,
    unpack_answer,
    unpack_explanation,
    unpack_json,
    zlib_json,
)
from tests.storage.legacy_rows import (
    EVENTS,
    ITEMS,
    NOW,
    event_row,
    explanation,
    explanation_facts,
    insert_member,
    insert_version,
    version_dictionary,
)
from tests.test_migrations import MIGRATIONS, empty_database_url, migration_app  # noqa: F401

ATTRIBUTES = {"stars": 5, "text": "café ☕", "tags": ["a", None], "channel": None}
RECORDS = sa.table("idempotency_records", *(sa.column(name) for name in ("scope", "key", "status_code", "member_id")),
                   sa.column("fingerprint", sa.LargeBinary()), sa.column("body", sa.LargeBinary()),
                   sa.column("created_at"))
VERSION_DICTIONARIES = sa.text("SELECT version, explanation_dictionary FROM rules_versions")
ANSWERS = {
    "k-event": (201, '{"event":{"id":"evt_a","type":"purchase","member_id":"mem_1"},"awarded":[],'
                     '"explanation":[],"member":{"id":"mem_1","email":"ana@example.com","first_name":"Zoë"}}', "mem_1"),
    "k-erased": (409, '{"error":{"code":"member_inactive","message":"Member mem_1 is erased.","details":{}}}', "mem_1"),
    "k-spelled": (201, '{"b": 1,  "a" :[1.0, 1e3, -0.0], "name":"Caf\\u00e9 \\ud83d\\ude00 ☕"}', None),
    "k-claimed": (None, None, None),
}


def _fingerprint(key: str) -> bytes:
    return sha256(key.encode()).digest()


def _write_release_0016(connection) -> None:
    member = insert_member(connection)
    dictionary = version_dictionary()
    insert_version(connection, 1)  # published before 0014, never given a dictionary
    insert_version(connection, 2, dictionary)
    connection.execute(EVENTS.insert(), [
        event_row("evt_a", member, pack_json(explanation()), items=pack_json(ITEMS)),
        event_row("evt_b", member, pack_explanation(explanation("gold"), dictionary), rules_version=2,
                  attributes=pack_json(ATTRIBUTES)),
        event_row("evt_c", member, zlib_json(explanation("silver", 4200, 1990)), items=zlib_json(ITEMS),
                  attributes=zlib_json({"channel": "app"})),
        event_row("evt_d", member, pack_explanation(explanation(used=2000), dictionary), rules_version=2,
                  items=pack_json([{**ITEMS[0], "sku": None}])),
        event_row("evt_e", member, pack_json(explanation(amount=98765)), rules_version=2),  # before its dictionary
    ])
    connection.execute(RECORDS.insert(), [
        {"scope": "key:till-1", "key": key, "fingerprint": _fingerprint(key), "status_code": status,
         "body": None if body is None else pack_answer(body), "created_at": NOW, "member_id": member_id}
        for key, (status, body, member_id) in ANSWERS.items()])


def _read_release_0016() -> tuple[dict, dict]:
    """Events as (items, attributes, explanation) and answers as (status, body, member), read as 0016 read them."""
    with db.engine.connect() as connection:
        dictionaries = dict(connection.execute(VERSION_DICTIONARIES).all())
        events = {row.id: (None if row.items is None else unpack_json(row.items),
                           None if row.attributes is None else unpack_json(row.attributes),
                           unpack_explanation(row.explanation, dictionaries[row.rules_version]))
                  for row in connection.execute(sa.select(EVENTS))}
        answers = {row.key: (row.status_code, None if row.body is None else unpack_answer(row.body), row.member_id)
                   for row in connection.execute(sa.select(RECORDS))}
    return events, answers


def _read_plain() -> tuple[dict, dict]:
    """The same, read by the app after 0017; each answer replayed as a retry would get it."""
    session = db.session()
    rows = session.scalars(sa.select(Event)).all()
    explained = explanations_of(rows)
    events = {event.id: (event.items, event.attributes, explained[event.id]) for event in rows}
    answers = {}
    for key, member_id in session.execute(sa.select(RECORDS.c.key, RECORDS.c.member_id)).all():
        if ANSWERS[key][0] is None:
            answers[key] = (None, session.scalar(sa.text('SELECT body FROM idempotency_records WHERE "key" = :k'),
                                                 {"k": key}), member_id)
            continue
        replay = run_once(session, "key:till-1", key, _fingerprint(key), NOW, _nothing_to_do)
        assert replay.replayed
        answers[key] = (replay.status, replay.body, member_id)
    db.session.remove()
    return events, answers


def _nothing_to_do():
    raise AssertionError("a stored answer must be replayed, not made again")


def _rule_ids_by_sql() -> dict[str, list[str]]:
    """Each event's explained rules, read by the database's own JSON functions."""
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            query = ("SELECT e.id, l.value ->> 'rule_id' FROM events e,"
                     " json_array_elements(e.explanation) WITH ORDINALITY AS l(value, n) ORDER BY e.id, l.n")
        else:
            query = ("SELECT e.id, json_extract(l.value, '$.rule_id') FROM events e, json_each(e.explanation) AS l"
                     " ORDER BY e.id, l.key")
        found = {}
        for event_id, rule_id in connection.execute(sa.text(query)):
            found.setdefault(event_id, []).append(rule_id)
    return found


def test_0017_keeps_every_explanation_item_attribute_and_answer_and_round_trips(migration_app):  # noqa: F811
    upgrade(directory=MIGRATIONS, revision="0016")
    with db.engine.begin() as connection:
        _write_release_0016(connection)
    before = _read_release_0016()
    assert before[0]["evt_b"] == (None, ATTRIBUTES, explanation("gold"))
    assert before[1]["k-spelled"][1] == ANSWERS["k-spelled"][1]

    upgrade(directory=MIGRATIONS)
    assert _read_plain() == before
    assert _rule_ids_by_sql() == {event_id: [line["rule_id"] for line in lines]
                                  for event_id, (_, _, lines) in before[0].items()}
    with db.engine.connect() as connection:
        columns = {c["name"] for c in sa.inspect(connection).get_columns("rules_versions")}
        stored = dict(connection.execute(sa.text('SELECT "key", body FROM idempotency_records')).all())
        texts = connection.scalars(sa.text("SELECT CAST(explanation AS TEXT) FROM events")).all()
    assert not {"explanation_dictionary", "dictionary_digest"} & columns
    assert all(text == json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False) for text in texts)
    assert stored == {key: body for key, (_, body, _) in ANSWERS.items()}

    downgrade(directory=MIGRATIONS, revision="0016")
    assert _read_release_0016() == before
    with db.engine.connect() as connection:
        formats = {bytes(packed[:1]) for packed in connection.scalars(sa.text(
            "SELECT explanation FROM events UNION ALL SELECT items FROM events WHERE items IS NOT NULL"))}
        dictionaries = connection.scalars(sa.text("SELECT explanation_dictionary FROM rules_versions")).all()
    assert formats == {RAW_DEFLATE} and dictionaries == [None, None]

    upgrade(directory=MIGRATIONS)
    assert _read_plain() == before


def test_0017_downgrade_puts_explanations_recorded_as_facts_into_words(migration_app):  # noqa: F811
    upgrade(directory=MIGRATIONS, revision="0016")
    with db.engine.begin() as connection:
        member = insert_member(connection)
        insert_version(connection, 1)
    upgrade(directory=MIGRATIONS, revision="0017")
    with db.engine.begin() as connection:
        connection.execute(Event.__table__.insert().values(
            **{**event_row("evt_new", member, None), "explanation": explanation_facts("gold")}))
        connection.execute(Event.__table__.insert().values(
            **{**event_row("evt_old", member, None), "explanation": explanation()}))
    assert explanations_of(db.session.scalars(sa.select(Event)).all()) == {
        "evt_new": explanation("gold"), "evt_old": explanation()}
    db.session.remove()

    downgrade(directory=MIGRATIONS, revision="0016")
    with db.engine.connect() as connection:
        packed = dict(connection.execute(sa.text("SELECT id, explanation FROM events")).all())
    assert {event_id: unpack_json(value) for event_id, value in packed.items()} == {
        "evt_new": explanation("gold"), "evt_old": explanation()}
