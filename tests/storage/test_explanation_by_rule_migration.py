"""Migration 0018: explanations stored by 0017 as lines with every argument become one object keyed by rule id.

The events are the recorded ones of tests/unit/fixtures (every reason code,
eleven programs, several currencies and timezones), stored as 0017 stored
them, beside lines kept in words and a code this engine does not know. They
read in the same words after the upgrade, SQL reads a rule's line by its id,
the downgrade gives back exactly the rows 0017 wrote, and upgrading again
gives the same rows.
"""

from datetime import datetime

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from loyalty.db.types import UTCDateTime
from loyalty.engine import stored_explanation
from loyalty.extensions import db
from loyalty.models import Event
from loyalty.services.events import explanations_of
from tests.storage.legacy_rows import insert_member, insert_version
from tests.test_migrations import MIGRATIONS, empty_database_url, migration_app  # noqa: F401
from tests.unit.test_engine_reason_codes import GOLDEN, event_of, explanation_of

EVENTS = sa.table("events", *(sa.column(name) for name in (
    "id", "member_id", "type", "currency", "amount", "rules_version", "refundable_points", "refunded_amount",
    "reversed_points")), sa.column("occurred_at", UTCDateTime()), sa.column("recorded_at", UTCDateTime()),
    sa.column("explanation", sa.JSON()))
IN_WORDS = [{"rule_id": "spend", "matched": True, "points": 12, "reason": "1 point per $1 on $12.50 = 12 points"}]
UNKNOWN = [{"rule_id": "later", "matched": True, "points": 3, "code": "double_stamps",
            "args": {"stamps": 2, "card": None}}]


def _as_0017_stored(lines) -> list[dict]:
    return [{"rule_id": line.rule_id, "matched": line.matched, "points": line.points, "code": line.code,
             "args": line.args} for line in lines]


def _rows_0017() -> dict[str, dict]:
    rows = {}
    for number, case in enumerate(GOLDEN["cases"]):
        event = event_of(case["event"])
        lines = explanation_of(case)
        if lines:
            rows[f"evt_{number:05d}"] = {"type": event.type, "currency": event.currency, "amount": event.amount,
                                         "occurred_at": event.occurred_at, "explanation": _as_0017_stored(lines),
                                         "words": [line.as_dict() for line in lines],
                                         "as_the_app_stores_it": stored_explanation(lines, event)}
    at = datetime.fromisoformat("2026-11-23T14:05:00+00:00")
    for name, lines in (("evt_words", IN_WORDS), ("evt_unknown", UNKNOWN)):
        rows[name] = {"type": "purchase", "currency": "USD", "amount": 1250, "occurred_at": at,
                      "explanation": lines, "words": None, "as_the_app_stores_it": None}
    return rows


def _stored() -> dict:
    with db.engine.connect() as connection:
        return dict(connection.execute(sa.select(EVENTS.c.id, EVENTS.c.explanation)).all())


def test_0018_keys_explanations_by_rule_reads_the_same_words_and_round_trips(migration_app):  # noqa: F811
    upgrade(directory=MIGRATIONS, revision="0016")
    with db.engine.begin() as connection:
        member = insert_member(connection)
        insert_version(connection, 1)
    upgrade(directory=MIGRATIONS, revision="0017")
    rows = _rows_0017()
    with db.engine.begin() as connection:
        connection.execute(EVENTS.insert(), [
            {"id": event_id, "member_id": member, "rules_version": 1, "refundable_points": 0, "refunded_amount": 0,
             "reversed_points": 0, "recorded_at": row["occurred_at"],
             **{name: row[name] for name in ("type", "currency", "amount", "occurred_at", "explanation")}}
            for event_id, row in rows.items()])
    written_by_0017 = _stored()
    assert len(written_by_0017) > 500

    upgrade(directory=MIGRATIONS)
    upgraded = _stored()
    read = explanations_of(db.session.scalars(sa.select(Event)).all())
    db.session.remove()
    assert {event_id: read[event_id] for event_id, row in rows.items() if row["words"]} == {
        event_id: row["words"] for event_id, row in rows.items() if row["words"]}
    assert upgraded["evt_words"] == IN_WORDS and read["evt_words"] == IN_WORDS
    assert upgraded["evt_unknown"] == {"later": {"matched": True, "points": 3, "code": "double_stamps",
                                                 "args": {"stamps": 2, "card": None}}}
    assert {event_id: upgraded[event_id] for event_id, row in rows.items() if row["words"]} == {
        event_id: row["as_the_app_stores_it"] for event_id, row in rows.items() if row["words"]}
    assert sum(len(str(value)) for value in upgraded.values()) < 0.8 * sum(
        len(str(value)) for value in written_by_0017.values())

    downgrade(directory=MIGRATIONS, revision="0017")
    assert _stored() == written_by_0017
    upgrade(directory=MIGRATIONS)
    assert _stored() == upgraded
