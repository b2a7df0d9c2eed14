"""Migrations 0010, 0011 and 0014 still pack and unpack as they did, with the formats frozen in migrations/.

Each runs up to 0016 (the last release that packed) and back, on rows as the
release before it wrote them.
"""

import json
import zlib
from hashlib import sha256

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from loyalty.db.types import UTCDateTime
from loyalty.extensions import db
from loyalty.http.idempotency import fingerprint, run_once
from migrations.packed_formats import (
    RAW_DEFLATE,
    VERSION_DEFLATE,
    pack_explanation,
    pack_json,
    unpack_answer,
    unpack_json,
    zlib_json,
)
from tests.storage.legacy_rows import (
    EVENTS,
    EVENTS_0009,
    ITEMS,
    NOW,
    PROGRAM_TEXT,
    event_row,
    explanation,
    insert_member,
    version_dictionary,
)
from tests.test_migrations import MIGRATIONS, empty_database_url, migration_app  # noqa: F401

# --------------------------------------------------------------------------- 0010: items and attributes packed


def test_migration_0010_packs_event_json_and_unpacks_it_on_the_way_down(migration_app):  # noqa: F811
    upgrade(directory=MIGRATIONS, revision="0009")
    with db.engine.begin() as connection:
        member_id = insert_member(connection)
        connection.execute(EVENTS_0009.insert(), [
            event_row("evt_old1", member_id, zlib_json(explanation()), ITEMS, None),
            event_row("evt_old2", member_id, zlib_json(explanation()), None, {"stars": 5})])
    upgrade(directory=MIGRATIONS, revision="0016")
    with db.engine.begin() as connection:
        connection.execute(EVENTS.insert().values(
            event_row("evt_new", member_id, pack_json(explanation()), pack_json(ITEMS), None)))
        without = connection.scalars(sa.text("SELECT id FROM events WHERE attributes IS NULL")).all()
        assert sorted(without) == ["evt_new", "evt_old1"]  # a JSON null is no value at all now
        events = {e.id: (None if e.items is None else unpack_json(e.items),
                         None if e.attributes is None else unpack_json(e.attributes), unpack_json(e.explanation))
                  for e in connection.execute(sa.select(EVENTS))}
    expected = {"evt_old1": (ITEMS, None, explanation()), "evt_old2": (None, {"stars": 5}, explanation()),
                "evt_new": (ITEMS, None, explanation())}
    assert events == expected

    downgrade(directory=MIGRATIONS, revision="0009")
    with db.engine.begin() as connection:
        rows = {row.id: (row.items, row.attributes, json.loads(zlib.decompress(row.explanation)))
                for row in connection.execute(sa.select(EVENTS_0009))}
    assert rows == expected


# --------------------------------------------------------------------------- 0011: answers packed

RECORDS_0010 = sa.table("idempotency_records", *(sa.column(name) for name in (
    "scope", "key", "fingerprint", "status_code", "body")), sa.column("created_at", UTCDateTime()))
EVENT_ANSWER = ('{"event":{"id":"evt_1","type":"purchase","member_id":"mem_1"},"awarded":[],'
                '"explanation":[],"member":{"id":"mem_1","email":"ana@example.com","first_name":"Zoë"}}')
ERASED_ANSWER = '{"error":{"code":"member_inactive","message":"Member mem_2 is erased.","details":{}}}'
WEBHOOK_ANSWER = '{"id":"whe_1","url":"https://crm.example.com/hook"}'


def _request(n: int) -> bytes:
    return fingerprint("POST", "/v1/events", json.dumps({"member_id": "mem_1", "amount": n}).encode())


def _nothing_to_do():
    raise AssertionError("a stored answer must be replayed, not made again")


def test_migration_0011_packs_answers_stored_as_text_and_unpacks_them_on_the_way_down(migration_app):  # noqa: F811
    upgrade(directory=MIGRATIONS, revision="0010")
    old = {key: {"scope": "key:till-1", "key": key, "fingerprint": _request(n).hex(), "status_code": status,
                 "body": body, "created_at": NOW}
           for n, (key, status, body) in enumerate((("k-event", 201, EVENT_ANSWER), ("k-erased", 409, ERASED_ANSWER),
                                                    ("k-webhook", 201, WEBHOOK_ANSWER)))}
    with db.engine.begin() as connection:
        connection.execute(RECORDS_0010.insert(), list(old.values()))
    upgrade(directory=MIGRATIONS, revision="0016")
    with db.engine.connect() as connection:
        rows = {row.key: row for row in connection.execute(sa.text(
            'SELECT "key", body, fingerprint, member_id FROM idempotency_records'))}
    assert {key: row.member_id for key, row in rows.items()} == {"k-event": "mem_1", "k-erased": None,
                                                                "k-webhook": None}
    assert all(bytes(row.body)[:1] == RAW_DEFLATE and len(row.fingerprint) == 32 for row in rows.values())
    assert {key: unpack_answer(row.body) for key, row in rows.items()} == {k: v["body"] for k, v in old.items()}

    upgrade(directory=MIGRATIONS)
    session = db.session()
    for n, key in enumerate(old):
        replay = run_once(session, "key:till-1", key, _request(n), NOW, _nothing_to_do)
        assert (replay.status, replay.body, replay.replayed) == (old[key]["status_code"], old[key]["body"], True)
    db.session.remove()

    downgrade(directory=MIGRATIONS, revision="0010")
    with db.engine.begin() as connection:
        back = {row.key: dict(row._mapping) for row in connection.execute(sa.select(RECORDS_0010))}
    assert back == old


# --------------------------------------------------------------------------- 0014: explanation dictionaries


def test_migration_0014_adds_the_columns_and_repacks_explanations_on_the_way_down(migration_app):  # noqa: F811
    assert explanation("gold") != explanation()  # so that the two events below tell their rows apart
    upgrade(directory=MIGRATIONS, revision="0013")
    versions = sa.table("rules_versions", sa.column("version"), sa.column("yaml"), sa.column("content_hash"),
                        sa.column("published_at", UTCDateTime()))
    with db.engine.begin() as connection:
        member_id = insert_member(connection)
        connection.execute(versions.insert().values(version=1, yaml=PROGRAM_TEXT, content_hash="a" * 64,
                                                    published_at=NOW))
        connection.execute(EVENTS.insert().values(event_row("evt_old", member_id, pack_json(explanation()))))
    upgrade(directory=MIGRATIONS, revision="0016")
    dictionary = version_dictionary()
    with db.engine.begin() as connection:  # as `rules dictionaries` gave the version its dictionary
        assert connection.scalar(sa.text("SELECT dictionary_digest FROM rules_versions")) is None
        connection.execute(sa.text("UPDATE rules_versions SET explanation_dictionary = :d, dictionary_digest = :h")
                           .bindparams(sa.bindparam("d", type_=sa.LargeBinary)),
                           {"d": dictionary, "h": sha256(dictionary).hexdigest()})
        connection.execute(EVENTS.insert().values(
            event_row("evt_new", member_id, pack_explanation(explanation("gold"), dictionary))))
        assert connection.scalar(sa.text("SELECT explanation FROM events WHERE id = 'evt_new'"))[:1] == VERSION_DEFLATE

    downgrade(directory=MIGRATIONS, revision="0013")
    with db.engine.begin() as connection:
        rows = dict(connection.execute(sa.text("SELECT id, explanation FROM events")).all())
        columns = {c["name"] for c in sa.inspect(connection).get_columns("rules_versions")}
    assert {id_: unpack_json(packed) for id_, packed in rows.items()} == {
        "evt_old": explanation(), "evt_new": explanation("gold")}
    assert "explanation_dictionary" not in columns
