"""Event items, attributes and explanations are stored packed, and read back exactly as they were given.

Migration 0010 packs what 0009 left as JSON and unpacks it again on the way down.
"""

import json
import zlib
from datetime import UTC, datetime
from hashlib import sha256

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from loyalty.db.types import DICTIONARY, pack_json, unpack_json
from loyalty.extensions import db
from loyalty.models import Event, Member
from loyalty.services import explanations
from tests.test_migrations import MIGRATIONS, empty_database_url, migration_app  # noqa: F401

EXPLANATION = [
    {"rule_id": "spend", "matched": True, "points": 12, "reason": "1 point per $1 on $12.50 = 12 points"},
    {"rule_id": "holiday-double", "matched": False, "points": 0,
     "reason": "Only from 2026-12-20 to 2026-12-26 (America/New_York); this purchase was on 2026-11-23"},
]
ITEMS = [{"sku": "latte", "category": "coffee", "quantity": 2, "unit_amount": 450}]
NOW = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)


def test_the_dictionary_never_changes():
    """Values packed against it are unreadable without it: a new one needs a new format byte."""
    assert sha256(DICTIONARY).hexdigest()[:16] == "0162ef51558ecaa1"


def test_a_packed_value_reads_back_as_written_and_takes_under_half_of_its_json():
    for value in (EXPLANATION, ITEMS, {"stars": 5, "text": "café ☕"}, [], "", 0):
        assert unpack_json(pack_json(value)) == value
    text = json.dumps(EXPLANATION, separators=(",", ":")).encode()
    assert len(pack_json(EXPLANATION)) * 2 < len(text)
    assert len(pack_json(EXPLANATION)) * 3 < len(zlib.compress(text, 9)) * 2


def test_plain_zlib_values_written_before_the_dictionary_still_read():
    assert unpack_json(zlib.compress(json.dumps(EXPLANATION).encode(), 9)) == EXPLANATION


def _member(connection) -> str:
    connection.execute(Member.__table__.insert().values(
        id="mem_1", referral_code="REF1", email_opt_in=False, status="active", enrolled_at=NOW, balance=0,
        pending=0, lifetime_earned=0, lifetime_redeemed=0, tier_id="member", tier_since=NOW, purchase_count=0,
        referrals_earned=0, lifecycle_stage="enrolled"))
    return "mem_1"


def _event_0009(event_id: str, member_id: str, items, attributes) -> dict:
    return {"id": event_id, "member_id": member_id, "type": "purchase", "occurred_at": NOW, "recorded_at": NOW,
            "items": items, "attributes": attributes, "rules_version": 1, "refundable_points": 0,
            "refunded_amount": 0, "reversed_points": 0,
            "explanation": zlib.compress(json.dumps(EXPLANATION).encode(), 9)}


EVENTS_0009 = sa.table("events", *(sa.column(name) for name in (
    "id", "member_id", "type", "occurred_at", "recorded_at", "rules_version", "refundable_points",
    "refunded_amount", "reversed_points")), sa.column("items", sa.JSON()), sa.column("attributes", sa.JSON()),
    sa.column("explanation", sa.LargeBinary()))


def test_migration_0010_packs_event_json_and_unpacks_it_on_the_way_down(migration_app):  # noqa: F811
    upgrade(directory=MIGRATIONS, revision="0009")
    with db.engine.begin() as connection:
        member_id = _member(connection)
        connection.execute(EVENTS_0009.insert(), [_event_0009("evt_old1", member_id, ITEMS, None),
                                                  _event_0009("evt_old2", member_id, None, {"stars": 5})])
    upgrade(directory=MIGRATIONS)
    with db.engine.begin() as connection:
        connection.execute(Event.__table__.insert().values(
            **{**_event_0009("evt_new", member_id, ITEMS, None), "explanation": explanations.pack(EXPLANATION, None)}))
        without = connection.scalars(sa.text("SELECT id FROM events WHERE attributes IS NULL")).all()
        assert sorted(without) == ["evt_new", "evt_old1"]  # a JSON null is no value at all now
        events = {e.id: (e.items, e.attributes, explanations.unpack(e.explanation, None))
                  for e in connection.execute(sa.select(Event.__table__))}
    assert events == {"evt_old1": (ITEMS, None, EXPLANATION), "evt_old2": (None, {"stars": 5}, EXPLANATION),
                      "evt_new": (ITEMS, None, EXPLANATION)}

    downgrade(directory=MIGRATIONS, revision="0009")
    with db.engine.begin() as connection:
        rows = {row.id: (row.items, row.attributes, json.loads(zlib.decompress(row.explanation)))
                for row in connection.execute(sa.select(EVENTS_0009))}
    assert rows == {"evt_old1": (ITEMS, None, EXPLANATION), "evt_old2": (None, {"stars": 5}, EXPLANATION),
                    "evt_new": (ITEMS, None, EXPLANATION)}
