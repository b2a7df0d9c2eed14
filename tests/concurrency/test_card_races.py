"""Racing purchases at stamp 8 of 9: exactly one completes the card and exactly one code is issued."""

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from loyalty.extensions import db
from loyalty.models import CardStamp, MemberCard, Redemption
from tests.concurrency.racing import ledger_state, reply

LATTE = {"sku": "latte-l", "category": "coffee", "quantity": 1, "unit_amount": 450}
NOW = "2026-11-30T17:00:00Z"


def day(n: int) -> str:
    return f"2026-11-{n:02d}T17:00:00Z"


def coffee_on(member_id: str, n: int, occurred_at: str | None = None, source: str = ""):
    def call(client):
        return reply(client.post("/v1/events", {
            "type": "purchase", "member_id": member_id, "amount": 450, "currency": "USD", "items": [LATTE],
            "source_id": f"{member_id}-{n}{source}", "occurred_at": occurred_at or day(n)}))
    return call


def card_state(app, member_id):
    with app.app_context():
        session = db.session()
        progress = session.get(MemberCard, (member_id, "coffee-card"))
        codes = session.scalars(sa.select(Redemption).where(Redemption.member_id == member_id)).all()
        stamps = session.scalars(sa.select(CardStamp.stamp).where(CardStamp.member_id == member_id,
                                                                  CardStamp.status == "active")).all()
        state = (progress.stamps, progress.completed, [(c.reward_id, c.points_spent) for c in codes], sorted(stamps))
        db.session.remove()
    return state


@pytest.fixture
def member_at_8_of_9(api):
    member = api.enroll()
    for n in range(1, 9):
        assert coffee_on(member["id"], n)(api).status == 201
    return member


@freeze_time(NOW)
@pytest.mark.parametrize("attempt", range(3))
def test_two_purchases_on_two_days_racing_at_8_of_9_complete_the_card_once(app, race, member_at_8_of_9,
                                                                          db_backend, attempt):
    member_id = member_at_8_of_9["id"]
    replies = race([coffee_on(member_id, 9), coffee_on(member_id, 10)])
    assert [r.status for r in replies] == [201, 201]
    lines = [line for r in replies for line in r.body["card_explanation"]]
    assert sorted(line["stamp"] for line in lines) == [1, 9]
    assert [line["completed"] for line in lines].count(True) == 1
    assert card_state(app, member_id) == (1, 1, [("free-drink", 0)], [1, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    state = ledger_state(app, member_id)
    assert state.balance == 50 + 10 * 8 and state.mismatches == []


@freeze_time(NOW)
def test_two_purchases_on_the_same_day_racing_at_8_of_9_give_one_stamp(app, race, member_at_8_of_9, db_backend):
    member_id = member_at_8_of_9["id"]
    replies = race([coffee_on(member_id, 9), coffee_on(member_id, 9, "2026-11-09T18:00:00Z", source="b")])
    assert [r.status for r in replies] == [201, 201]
    reasons = sorted(r.body["card_explanation"][0]["reason"] for r in replies)
    assert reasons == ["Stamp 9 of 9: the Coffee card is complete and gives a free-drink code",
                       "The Coffee card already has today's stamp (one a day)"]
    assert card_state(app, member_id) == (9, 1, [("free-drink", 0)], list(range(1, 10)))
