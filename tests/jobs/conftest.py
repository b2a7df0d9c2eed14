"""Helpers for the job tests: run a step as of a moment, read a member's ledger and lots back."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from loyalty.db.transactions import write_transaction
from loyalty.extensions import db
from loyalty.ledger.verify import verify_ledger
from loyalty.models import LedgerEntry, Lot, Member, TierChange
from loyalty.services import rules as rules_service

DEMO_YAML = (Path(__file__).resolve().parents[2] / "rules" / "program.yaml").read_text()
WELCOME = 50  # rules/program.yaml: welcome bonus on enrolment


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Entry:
    type: str
    points: int
    balance_after: int
    rule_id: str | None
    expires_at: datetime | None
    actor: str | None
    reason: str | None
    rules_version: int | None
    created_at: datetime


class Jobs:
    """Runs job steps in the test app, each with its own session, as the CLI would."""

    def __init__(self, app):
        self.app = app

    def run(self, step, now, **options):
        with self.app.app_context():
            try:
                return step(db.session(), utc(now) if isinstance(now, str) else now, **options)
            finally:
                db.session.remove()

    def publish(self, yaml_text: str) -> int:
        with self.app.app_context():
            with write_transaction(db.session()):
                version = rules_service.publish(db.session(), yaml_text, "tests").version
            db.session.remove()
        return version

    def entries(self, member_id: str, *types: str) -> list[Entry]:
        with self.app.app_context():
            query = sa.select(LedgerEntry).where(LedgerEntry.member_id == member_id).order_by(LedgerEntry.seq)
            if types:
                query = query.where(LedgerEntry.type.in_(types))
            rows = [Entry(e.type, e.points, e.balance_after, e.rule_id, e.expires_at, e.actor, e.reason,
                          e.rules_version, e.created_at) for e in db.session.scalars(query)]
            db.session.remove()
        return rows

    def seed(self, count: int, moment: str, dollars: int = 0, **enrolment) -> list[str]:
        """Enrol `count` members at `moment` (each buying `dollars`, if any), in one transaction."""
        from loyalty.services import accrual, members

        now = utc(moment)
        ids = []
        with self.app.app_context():
            session = db.session()
            with write_transaction(session):
                rules = rules_service.active_rules(session)
                for _ in range(count):
                    member = members.enroll(session, rules, members.Enrolment(uuid.uuid4().hex, **enrolment),
                                            "tests", now)
                    if dollars:
                        accrual.record_event(session, rules, accrual.EventInput(
                            type="purchase", member_id=member.id, source_id=uuid.uuid4().hex,
                            amount=dollars * 100, currency="USD"), "tests", now)
                    ids.append(member.id)
            db.session.remove()
        return ids

    def member(self, member_id: str) -> Member:
        with self.app.app_context():
            member = db.session.get(Member, member_id)
            db.session.expunge(member)
            db.session.remove()
        return member

    def lots(self, member_id: str) -> list[tuple]:
        """(rule_id, points, remaining, status, expires_at) per lot, oldest first."""
        with self.app.app_context():
            rows = db.session.execute(
                sa.select(Lot.rule_id, Lot.points, Lot.remaining, Lot.status, Lot.expires_at)
                .where(Lot.member_id == member_id).order_by(Lot.id)
            ).all()
            db.session.remove()
        return [tuple(row) for row in rows]

    def tier_changes(self, member_id: str) -> list[tuple]:
        with self.app.app_context():
            rows = db.session.execute(
                sa.select(TierChange.from_tier, TierChange.to_tier, TierChange.reason, TierChange.changed_at)
                .where(TierChange.member_id == member_id).order_by(TierChange.id)
            ).all()
            db.session.remove()
        return [tuple(row) for row in rows]

    def expired_once(self) -> int:
        """How many lots expired, after checking each did so once (for lots nothing else drew on)."""
        with self.app.app_context():
            session = db.session()
            entries = session.scalar(sa.select(sa.func.count()).where(LedgerEntry.type == "expire"))
            per_member = dict(session.execute(
                sa.select(LedgerEntry.member_id, -sa.func.sum(LedgerEntry.points))
                .where(LedgerEntry.type == "expire").group_by(LedgerEntry.member_id)).all())
            emptied = session.execute(
                sa.select(Lot.member_id, sa.func.count(), sa.func.sum(Lot.points))
                .where(Lot.status == "active", Lot.remaining == 0, Lot.expires_at.is_not(None))
                .group_by(Lot.member_id)).all()
            db.session.remove()
        assert entries == sum(count for _, count, _ in emptied)
        assert per_member == {member_id: points for member_id, _, points in emptied}
        return entries

    def assert_ledger_whole(self) -> None:
        """balance = Σ entries and Σ active lots = max(balance, 0) for every member; running balances chain."""
        with self.app.app_context():
            session = db.session()
            assert verify_ledger(session) == []
            entries = session.execute(
                sa.select(LedgerEntry.member_id, LedgerEntry.points, LedgerEntry.balance_after)
                .order_by(LedgerEntry.member_id, LedgerEntry.seq)
            ).all()
            db.session.remove()
        running: dict[str, int] = {}
        for member_id, points, balance_after in entries:
            running[member_id] = running.get(member_id, 0) + points
            assert balance_after == running[member_id], (member_id, points, balance_after)


@pytest.fixture
def jobs(app) -> Jobs:
    return Jobs(app)


@pytest.fixture
def at():
    """``with at("2026-03-10T14:00:00Z"):`` — the API's clock, frozen."""
    def freeze(moment: str):
        return freeze_time(moment, tz_offset=0)
    return freeze
