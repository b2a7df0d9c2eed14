"""Property: whatever two members did, merging one into the other keeps the ledger whole.

Random histories (purchases on different days, so lots of different expiry,
reviews, adjustments either way, redemptions, refunds) for two members, and a
third member beside them; then a merge. The ledger verifies clean, the
survivor's balance is the sum of both, every lot keeps its expiry, and the
third member is untouched.
"""

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.extensions import db
from loyalty.ledger.verify import verify_ledger
from loyalty.models import LedgerEntry, Lot, Member

purchase = st.tuples(st.just("purchase"), st.integers(0, 90_000), st.integers(0, 89))
review = st.tuples(st.just("review"), st.just(0), st.just(0))
adjust = st.tuples(st.just("adjust"), st.integers(-400, 400).filter(bool), st.just(0))
redeem = st.tuples(st.just("redeem"), st.just(0), st.just(0))
refund = st.tuples(st.just("refund"), st.integers(0, 5), st.integers(1, 90_000))
history = st.lists(st.one_of(purchase, purchase, review, adjust, redeem, refund), max_size=8)


def play(api, member_id: str, steps) -> None:
    purchases = []
    now = datetime.now(UTC)
    for kind, number, extra in steps:
        if kind == "purchase":
            days_ago = (now - timedelta(days=extra)).isoformat().replace("+00:00", "Z")
            purchases.append((api.purchase(member_id, number, occurred_at=days_ago)["event"]["id"], number))
        elif kind == "review":
            api.action(member_id, "review")
        elif kind == "adjust":
            assert api.post(f"/v1/members/{member_id}/adjustments",
                            {"points": number, "reason": "property"}).status_code == 201
        elif kind == "redeem":
            response = api.post(f"/v1/members/{member_id}/redemptions", {"reward_id": "free-drink"})
            assert response.status_code in (201, 409), response.get_json()
        elif purchases:
            event_id, amount = purchases[number % len(purchases)]
            if amount == 0:
                continue  # nothing to refund: a refund's amount is at least 1
            response = api.post(f"/v1/events/{event_id}/refunds", {"amount": min(extra, amount)})
            assert response.status_code in (201, 409), response.get_json()


def snapshot(app, member_id: str) -> dict:
    with app.app_context():
        session = db.session()
        balance = session.scalar(sa.select(Member.balance).where(Member.id == member_id))
        lots = session.execute(sa.select(Lot.expires_at, Lot.remaining).where(
            Lot.member_id == member_id, Lot.status == "active", Lot.remaining > 0)).all()
        entries = session.execute(sa.select(LedgerEntry.seq, LedgerEntry.points).where(
            LedgerEntry.member_id == member_id).order_by(LedgerEntry.seq)).all()
        db.session.remove()
    return {"balance": balance, "lots": Counter((expires, remaining) for expires, remaining in lots),
            "entries": [tuple(e) for e in entries]}


def verified(app) -> list:
    with app.app_context():
        mismatches = verify_ledger(db.session())
        db.session.remove()
    return mismatches


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(survivor_steps=history, duplicate_steps=history, bystander_steps=history)
def test_a_merge_keeps_every_point_and_every_expiry(app, admin_api, db_backend, survivor_steps, duplicate_steps,
                                                    bystander_steps):
    survivor, duplicate, bystander = (admin_api.enroll(uuid.uuid4().hex)["id"] for _ in range(3))
    play(admin_api, survivor, survivor_steps)
    play(admin_api, duplicate, duplicate_steps)
    play(admin_api, bystander, bystander_steps)
    before = {member: snapshot(app, member) for member in (survivor, duplicate, bystander)}

    response = admin_api.post(f"/v1/members/{survivor}/merge", {"member_id": duplicate})
    assert response.status_code == 200, response.get_json()

    after = {member: snapshot(app, member) for member in (survivor, duplicate, bystander)}
    assert verified(app) == []
    total = before[survivor]["balance"] + before[duplicate]["balance"]
    assert after[survivor]["balance"] == response.get_json()["points"]["balance"] == total
    assert after[duplicate]["balance"] == 0 and not after[duplicate]["lots"]
    held = before[survivor]["lots"] + before[duplicate]["lots"]
    if before[survivor]["balance"] >= 0 and before[duplicate]["balance"] >= 0:
        assert after[survivor]["lots"] == held  # every lot, with its own expiry and points
    else:  # a debt on either side is paid from the lots that expire first; no expiry is invented
        assert {expires for expires, _ in after[survivor]["lots"]} <= {expires for expires, _ in held}
        assert sum(points * n for (_, points), n in after[survivor]["lots"].items()) == max(0, total)
    assert after[bystander] == before[bystander]
