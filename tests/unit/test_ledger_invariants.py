"""Ledger invariants after every step of random enrol/purchase/refund/adjust sequences.

Each example enrols a fresh member on the test's SQLite database and drives
it through the HTTP API; after every step the member's cached balance, its
entries, its lots and its events must still agree with each other.
"""

import uuid

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.extensions import db
from loyalty.ledger.verify import verify_ledger
from loyalty.models import Event, LedgerEntry, Lot, Member, Refund

purchase = st.tuples(st.just("purchase"), st.integers(0, 300_000), st.integers(0, 3))
refund = st.tuples(st.just("refund"), st.integers(0, 10), st.integers(1, 200_000))
adjust = st.tuples(st.just("adjust"), st.integers(-5_000, 5_000).filter(bool), st.just(0))
review = st.tuples(st.just("review"), st.just(0), st.just(0))
steps = st.lists(st.one_of(purchase, purchase, refund, refund, adjust, review), min_size=1, max_size=10)


def points_for(member_id: str, response_json: dict) -> int:
    return sum(a["points"] for a in response_json["awarded"] if a["member_id"] == member_id)


def check_invariants(app, member_id: str, expected_balance: int) -> None:
    with app.app_context():
        session = db.session()
        balance = session.scalar(sa.select(Member.balance).where(Member.id == member_id))
        entries = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.points), 0))
                                 .where(LedgerEntry.member_id == member_id))
        lots = session.execute(sa.select(Lot.status, Lot.points, Lot.remaining)
                               .where(Lot.member_id == member_id)).all()
        events = session.scalars(sa.select(Event).where(Event.member_id == member_id)).all()
        refunds = dict(session.execute(
            sa.select(Refund.event_id, sa.func.sum(Refund.reversed_points))
            .join(Event, Event.id == Refund.event_id)
            .where(Event.member_id == member_id).group_by(Refund.event_id)).all())
        mismatches = verify_ledger(session)
        db.session.remove()

    assert balance == entries == expected_balance
    assert sum(remaining for status, _, remaining in lots if status == "active") == max(balance, 0)
    assert all(0 <= remaining <= points for _, points, remaining in lots)
    for event in events:
        assert 0 <= event.reversed_points <= event.refundable_points
        assert event.reversed_points == refunds.get(event.id, 0)
        if event.type == "purchase" and event.amount:
            assert event.refunded_amount <= event.amount
            assert event.reversed_points == event.refundable_points * event.refunded_amount // event.amount
    assert mismatches == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_balance_entries_and_lots_agree_after_every_step(app, admin_api, steps):
    member = admin_api.enroll(uuid.uuid4().hex)
    member_id = member["id"]
    balance = member["points"]["balance"]
    check_invariants(app, member_id, balance)
    purchases: list[dict] = []  # {"id", "amount", "refunded"}

    for kind, number, extra in steps:
        if kind == "purchase":
            items = [{"sku": "latte", "category": "coffee", "quantity": extra, "unit_amount": 450}] if extra else None
            result = admin_api.purchase(member_id, number, items=items)
            balance += points_for(member_id, result)
            purchases.append({"id": result["event"]["id"], "amount": number, "refunded": 0})
        elif kind == "review":
            result = admin_api.action(member_id, "review")
            balance += points_for(member_id, result)
        elif kind == "adjust":
            response = admin_api.post(f"/v1/members/{member_id}/adjustments",
                                      {"points": number, "reason": "property test"})
            assert response.status_code == 201, response.get_json()
            result = response.get_json()
            balance += number
        else:
            if not purchases:
                continue
            bought = purchases[number % len(purchases)]
            left = bought["amount"] - bought["refunded"]
            amount = min(extra, left) if left else extra
            response = admin_api.post(f"/v1/events/{bought['id']}/refunds", {"amount": amount})
            result = response.get_json()
            if not left:
                assert response.status_code == 409 and result["error"]["code"] == "invalid_state"
                continue
            assert response.status_code == 201, result
            bought["refunded"] += amount
            balance -= result["reversed_points"]
        assert result["member"]["points"]["balance"] == balance
        check_invariants(app, member_id, balance)
