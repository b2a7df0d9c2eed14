"""``ledger verify`` finds each cached figure that disagrees with the entries, lots and draws behind it."""

import pytest
import sqlalchemy as sa

from loyalty.extensions import db
from loyalty.ledger.verify import CHECKS, verify_ledger

pytestmark = pytest.mark.usefixtures("db_backend")


@pytest.fixture
def history(app, api):
    """A member who earned, redeemed and voided, redeemed again, and had a purchase refunded."""
    member = api.enroll()
    purchase = api.purchase(member["id"], 30_000)
    first = api.post(f"/v1/members/{member['id']}/redemptions", {"reward_id": "free-drink"}).get_json()
    assert api.post(f"/v1/redemptions/{first['id']}/void").status_code == 200
    assert api.post(f"/v1/members/{member['id']}/redemptions", {"reward_id": "free-drink"}).status_code == 201
    assert api.post(f"/v1/events/{purchase['event']['id']}/refunds", {"amount": 1000}).status_code == 201
    return member["id"]


def run(app, statement: str, **params) -> None:
    with app.app_context():
        db.session.execute(sa.text(statement), params)
        db.session.commit()


def checks_failing(app) -> dict[str, list]:
    with app.app_context():
        found = verify_ledger(db.session())
        db.session.remove()
    return {mismatch.check: mismatch for mismatch in found}


def test_a_real_history_verifies_clean(app, history, runner):
    assert checks_failing(app) == {}
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert f"{len(CHECKS)} checks, no mismatch" in result.output


@pytest.mark.parametrize(("column", "check"), [
    ("pending", "pending"),
    ("lifetime_earned", "lifetime earned"),
    ("lifetime_redeemed", "lifetime redeemed"),
])
def test_a_cached_total_off_by_one_is_found(app, history, runner, column, check):
    run(app, f"UPDATE members SET {column} = {column} + 1 WHERE id = :member", member=history)
    failing = checks_failing(app)
    assert set(failing) == {check}
    assert (failing[check].member_id, failing[check].cached - failing[check].expected) == (history, 1)
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"{history}: {check} is" in result.output


def test_a_balance_that_is_not_the_sum_of_its_entries_is_found(app, history):
    run(app, "UPDATE members SET balance = balance - 5 WHERE id = :member", member=history)
    failing = checks_failing(app)
    assert set(failing) == {"balance", "spendable balance"}
    assert failing["balance"].expected - failing["balance"].cached == 5


def test_a_lot_holding_points_its_draws_took_is_found(app, history):
    """Points moved from one lot to a drawn one: the member's totals still agree, the drawn lot does not."""
    with app.app_context():
        drawn = db.session.execute(sa.text(
            "SELECT l.id, l.points, l.remaining FROM lots l JOIN lot_draws d ON d.lot_id = l.id"
            " JOIN ledger_entries e ON e.seq = d.entry_seq"
            " WHERE l.member_id = :member AND e.type = 'redeem' AND l.remaining = 0"), {"member": history}).first()
        other = db.session.execute(sa.text(
            "SELECT id FROM lots WHERE member_id = :member AND id != :drawn AND remaining >= 3"),
            {"member": history, "drawn": drawn.id}).scalar()
        db.session.remove()
    run(app, "UPDATE lots SET remaining = remaining + 3 WHERE id = :lot", lot=drawn.id)
    run(app, "UPDATE lots SET remaining = remaining - 3 WHERE id = :lot", lot=other)
    failing = checks_failing(app)
    assert set(failing) == {"remainder plus standing draws"}
    assert failing["remainder plus standing draws"].lot_id == drawn.id
