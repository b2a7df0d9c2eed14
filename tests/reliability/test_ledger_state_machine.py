"""Stateful property test: random histories through the HTTP API against a reference model.

Hypothesis drives members through enrolment, purchases, refunds, reviews,
birthdays, redemptions, voids, completions, adjustments and the passing of
time (with the jobs run for expiry and tier re-evaluation), on SQLite and on
PostgreSQL. After every step:

- each member's balance and tier equal the reference model's
  (``reference_model.py``, written independently from the program's text);
- each lot's remainder equals the model's, so expiry takes exactly what it should;
- the ledger invariants hold: balance = Σ entries, Σ active lots = max(balance, 0),
  no lot below zero or above its points, every event credited at most once,
  reversals never above what the purchase earned, expired ≤ earned.
"""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule, run_state_machine_as_test

from loyalty.extensions import db
from loyalty.ledger.verify import verify_ledger
from loyalty.models import Event, LedgerEntry, Lot, Member
from tests.reliability import reference_model as model

START = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def service_state(app, member_ids) -> dict[str, tuple[int, str, list]]:
    """member id → (balance, tier, [(points, remaining, expires_at) per lot in order])."""
    with app.app_context():
        session = db.session()
        members = session.execute(sa.select(Member.id, Member.balance, Member.tier_id)
                                  .where(Member.id.in_(member_ids))).all()
        lots: dict[str, list] = {member_id: [] for member_id in member_ids}
        for member_id, points, remaining, expires_at in session.execute(
                sa.select(Lot.member_id, Lot.points, Lot.remaining, Lot.expires_at)
                .where(Lot.member_id.in_(member_ids)).order_by(Lot.id)):
            lots[member_id].append((points, remaining, expires_at))
        db.session.remove()
    return {member_id: (balance, tier, lots[member_id]) for member_id, balance, tier in members}


def ledger_checks(app) -> list[str]:
    """Problems across the whole ledger; empty when every invariant holds."""
    problems = []
    with app.app_context():
        session = db.session()
        problems += [str(m) for m in verify_ledger(session)]
        bad_lots = session.scalar(sa.select(sa.func.count()).select_from(Lot)
                                  .where((Lot.remaining < 0) | (Lot.remaining > Lot.points)))
        if bad_lots:
            problems.append(f"{bad_lots} lots outside 0..points")
        twice = session.execute(
            sa.select(LedgerEntry.event_id, LedgerEntry.rule_id, LedgerEntry.member_id, sa.func.count())
            .where(LedgerEntry.type == "earn", LedgerEntry.event_id.is_not(None))
            .group_by(LedgerEntry.event_id, LedgerEntry.rule_id, LedgerEntry.member_id)
            .having(sa.func.count() > 1)).all()
        if twice:
            problems.append(f"events credited twice by one rule: {twice}")
        over = session.scalar(sa.select(sa.func.count()).select_from(Event)
                              .where(Event.reversed_points > Event.refundable_points))
        if over:
            problems.append(f"{over} events reversed more than they earned")
        earned = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Lot.points), 0)))
        expired = -session.scalar(sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.points), 0))
                                  .where(LedgerEntry.type == "expire"))
        if expired > earned:
            problems.append(f"expired {expired} > earned {earned}")
        db.session.remove()
    return problems


def jobs_available(app) -> bool:
    return "jobs" in app.cli.commands


class LoyaltyHistory(RuleBasedStateMachine):
    """One random history; `app`, `api` and `admin_api` are set on the subclass per test."""

    app = api = admin_api = runner = None
    members = Bundle("members")
    purchases = Bundle("purchases")
    redemptions = Bundle("redemptions")

    def __init__(self):
        super().__init__()
        self.model = model.Program()
        self.now = START

    def call(self, method, *args, **kwargs):
        with freeze_time(self.now):
            return method(*args, **kwargs)

    @rule(target=members, opt_in=st.booleans())
    def enroll(self, opt_in):
        member = self.call(self.api.enroll, uuid.uuid4().hex, email=f"{uuid.uuid4().hex}@example.com",
                           email_opt_in=opt_in)
        assert member["points"]["balance"] == self.model.enroll(member["id"], self.now, opt_in)
        return member["id"]

    @rule(target=purchases, member=members, coffees=st.integers(0, 3),
          amount=st.one_of(st.integers(0, 5_000), st.integers(5_000, 250_000)))
    def purchase(self, member, amount, coffees):
        coffee = 450 * coffees if 450 * coffees <= amount else 0
        items = [{"sku": "latte", "category": "coffee", "quantity": coffees, "unit_amount": 450}] if coffee else None
        result = self.call(self.api.purchase, member, amount, items=items)
        event_id = result["event"]["id"]
        earned = sum(a["points"] for a in result["awarded"] if a["member_id"] == member)
        assert earned == self.model.purchase(member, event_id, amount, coffee, self.now)
        return (member, event_id)

    @rule(purchase=purchases, amount=st.integers(1, 150_000))
    def refund(self, purchase, amount):
        member, event_id = purchase
        response = self.call(self.api.post, f"/v1/events/{event_id}/refunds", {"amount": amount})
        expected = self.model.refund(event_id, member, amount, self.now)
        if expected is None:
            assert response.status_code == 409, response.get_json()
            assert response.get_json()["error"]["code"] == "invalid_state"
        else:
            assert response.status_code == 201, response.get_json()
            assert response.get_json()["reversed_points"] == expected

    @rule(member=members)
    def review(self, member):
        result = self.call(self.api.action, member, "review")
        assert sum(a["points"] for a in result["awarded"]) == self.model.review(member, self.now)

    @rule(member=members)
    def birthday(self, member):
        result = self.call(self.api.action, member, "birthday")
        assert sum(a["points"] for a in result["awarded"]) == self.model.birthday(member, self.now)

    @rule(member=members, points=st.integers(-3000, 3000).filter(bool))
    def adjust(self, member, points):
        response = self.call(self.admin_api.post, f"/v1/members/{member}/adjustments",
                             {"points": points, "reason": "stateful test"})
        assert response.status_code == 201, response.get_json()
        self.model.adjust(member, points, self.now)

    @rule(target=redemptions, member=members, reward=st.sampled_from(sorted(model.REWARD_COSTS)))
    def redeem(self, member, reward):
        response = self.call(self.api.post, f"/v1/members/{member}/redemptions", {"reward_id": reward})
        key = uuid.uuid4().hex
        outcome = self.model.redeem(member, key, reward, self.now)
        if outcome == "issued":
            assert response.status_code == 201, response.get_json()
            return (key, response.get_json()["id"])
        assert response.status_code == 409, response.get_json()
        assert response.get_json()["error"]["code"] == outcome
        return (None, None)

    @rule(redemption=consumes(redemptions))
    def void(self, redemption):
        key, redemption_id = redemption
        if key is None:
            return
        response = self.call(self.api.post, f"/v1/redemptions/{redemption_id}/void")
        if self.model.void(key, self.now):
            assert response.status_code == 200, response.get_json()
        else:
            assert response.status_code == 409, response.get_json()

    @rule(redemption=redemptions)
    def complete(self, redemption):
        key, redemption_id = redemption
        if key is None:
            return
        state = self.model.redemptions[key]
        expired = state.status == "issued" and self.now >= state.issued_at + model.CODE_VALID
        response = self.call(self.api.post, f"/v1/redemptions/{redemption_id}/complete")
        if state.status in ("issued", "completed") and not expired:
            assert response.status_code == 200, response.get_json()
            state.status = "completed"
        else:
            assert response.status_code == 409, response.get_json()

    @rule(days=st.integers(0, 400), hours=st.integers(0, 23))
    def time_passes(self, days, hours):
        self.now += timedelta(days=days, hours=hours)
        if jobs_available(self.app):
            result = self.call(self.runner.invoke, args=["jobs", "run", "--now", rfc3339(self.now)])
            assert result.exit_code == 0, result.output
            self.model.expire(self.now)
            self.model.review_tiers(self.now)

    @invariant()
    def service_agrees_with_the_model(self):
        found = service_state(self.app, list(self.model.members))
        expected = {member_id: (m.balance, m.tier, [(lot.points, lot.remaining, lot.expires_at) for lot in m.lots])
                    for member_id, m in self.model.members.items()}
        assert found == expected

    @invariant()
    def ledger_invariants_hold(self):
        assert ledger_checks(self.app) == []


def run_histories(app, api, admin_api, examples: int, steps: int) -> None:
    machine = type("History", (LoyaltyHistory,), {
        "app": app, "api": api, "admin_api": admin_api, "runner": app.test_cli_runner()})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=examples, stateful_step_count=steps, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))


def test_random_histories_agree_with_the_reference_model(app, api, admin_api, db_backend):
    run_histories(app, api, admin_api, examples=8, steps=20)


@pytest.mark.slow
def test_many_long_random_histories_agree_with_the_reference_model(app, api, admin_api, db_backend):
    run_histories(app, api, admin_api, examples=150, steps=40)
