"""Rows as releases before 0017 stored them, for the tests of the migrations that convert them.

Written with plain SQL tables naming only the columns each revision has, and
packed with the frozen formats the revisions themselves use.
"""

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from loyalty.db.types import UTCDateTime
from loyalty.engine import EventFacts, Item, MemberFacts, evaluate, load_program
from migrations.packed_formats import DICTIONARY, compact_json

ROOT = Path(__file__).resolve().parent.parent.parent
PROGRAM_TEXT = (ROOT / "rules" / "program.yaml").read_text()
PROGRAM = load_program(PROGRAM_TEXT, "program.yaml")
NOW = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
ITEMS = [{"sku": "latte", "category": "coffee", "quantity": 2, "unit_amount": 450}]

MEMBERS = sa.table("members", *(sa.column(name) for name in (
    "id", "referral_code", "email_opt_in", "status", "balance", "pending", "lifetime_earned", "lifetime_redeemed",
    "tier_id", "purchase_count", "referrals_earned", "lifecycle_stage")),
    sa.column("enrolled_at", UTCDateTime()), sa.column("tier_since", UTCDateTime()))
VERSIONS = sa.table("rules_versions", sa.column("version"), sa.column("yaml"), sa.column("content_hash"),
                    sa.column("published_at", UTCDateTime()), sa.column("explanation_dictionary", sa.LargeBinary()),
                    sa.column("dictionary_digest"))
_EVENT_COLUMNS = ("id", "member_id", "type", "rules_version", "refundable_points", "refunded_amount",
                  "reversed_points")


def _events(value_type) -> sa.TableClause:
    return sa.table("events", *(sa.column(name) for name in _EVENT_COLUMNS),
                    sa.column("occurred_at", UTCDateTime()), sa.column("recorded_at", UTCDateTime()),
                    sa.column("items", value_type()), sa.column("attributes", value_type()),
                    sa.column("explanation", sa.LargeBinary()))


#: events from 0010 to 0016: items, attributes and explanation are packed bytes.
EVENTS = _events(sa.LargeBinary)
#: events at 0009: items and attributes are JSON still.
EVENTS_0009 = _events(sa.JSON)


def insert_member(connection, member_id: str = "mem_1") -> str:
    connection.execute(MEMBERS.insert().values(
        id=member_id, referral_code=f"REF-{member_id}", email_opt_in=False, status="active", enrolled_at=NOW,
        balance=0, pending=0, lifetime_earned=0, lifetime_redeemed=0, tier_id="member", tier_since=NOW,
        purchase_count=0, referrals_earned=0, lifecycle_stage="enrolled"))
    return member_id


def insert_version(connection, version: int, dictionary: bytes | None = None) -> None:
    """A rules version as 0014-0016 kept it, with or without an explanation dictionary."""
    connection.execute(VERSIONS.insert().values(
        version=version, yaml=PROGRAM_TEXT, content_hash=f"{version:064d}", published_at=NOW,
        explanation_dictionary=dictionary, dictionary_digest=None if dictionary is None else f"{version:064x}"))


def event_row(event_id: str, member_id: str, explanation: bytes, items=None, attributes=None,
              rules_version: int = 1) -> dict:
    return {"id": event_id, "member_id": member_id, "type": "purchase", "occurred_at": NOW, "recorded_at": NOW,
            "items": items, "attributes": attributes, "rules_version": rules_version,
            "refundable_points": 0, "refunded_amount": 0, "reversed_points": 0, "explanation": explanation}


def explanation(tier_id: str = "member", amount: int = 1250, used: int = 0) -> list[dict]:
    """The engine's explanation of a purchase, in words: what releases before 0017 stored."""
    return [line.as_dict() for line in _evaluation(tier_id, amount, used).explanation]


def explanation_facts(tier_id: str = "member", amount: int = 1250, used: int = 0) -> list[dict]:
    """The same explanation as facts, a line each with all its arguments: what 0017 stored."""
    return [{"rule_id": line.rule_id, "matched": line.matched, "points": line.points, "code": line.code,
             "args": line.args} for line in _evaluation(tier_id, amount, used).explanation]


def _evaluation(tier_id: str, amount: int, used: int):
    at = datetime(2026, 12, 3, 15, tzinfo=UTC)
    keys = PROGRAM.usage_keys("purchase", at).member
    event = EventFacts(type="purchase", occurred_at=at, amount=amount, currency="USD",
                       items=(Item("latte", "coffee", 2, 450),))
    member = MemberFacts(member_id="mem_abcdefghijklmnop", tier_id=tier_id, usage={key: used for key in keys})
    return evaluate(PROGRAM, event, member)


def version_dictionary() -> bytes:
    """A dictionary shaped like those 0014-0016 built: the generic wording, then sample explanations."""
    samples = [explanation(tier) for tier in ("gold", "silver", "member")] + [explanation(used=2000)]
    return DICTIONARY + b"".join(compact_json(lines) for lines in samples)
