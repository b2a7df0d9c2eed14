"""Racing redemptions: never spend the same points twice, never oversell stock.

In one process (threads, each with its own connection) on SQLite and
PostgreSQL, and across two gunicorn servers sharing one PostgreSQL database.
"""

from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from loyalty.extensions import db
from loyalty.models import Redemption, RewardStock
from tests.concurrency.racing import ledger_state, reply
from tests.concurrency.servers import gunicorn_server, post, race_http

DEMO_YAML = (Path(__file__).resolve().parents[2] / "rules" / "program.yaml").read_text()
WELCOME = 50
STOCKED_MUG = DEMO_YAML + """
  - id: mug
    name: Bean & Leaf mug
    points_cost: 10
    type: merchandise
    stock: 5
"""


def member_holding_exactly_one_free_drink(api) -> dict:
    member = api.enroll()
    api.purchase(member["id"], 100 * 100)  # 50 welcome + 100 = 150 = one free-drink
    assert api.member(member["id"])["points"]["balance"] == 150
    return member


def publish_stocked_mug(admin_api) -> None:
    response = admin_api.client.put("/v1/rules", json={"yaml": STOCKED_MUG, "note": "mug in stock"},
                                    headers={"Authorization": f"Bearer {admin_api.key}"})
    assert response.status_code == 201, response.get_json()


def issued_count(app, reward_id: str) -> tuple[int, int]:
    """(redemptions issued, stock counter) for a reward."""
    with app.app_context():
        redemptions = db.session.scalar(sa.select(sa.func.count()).select_from(Redemption)
                                        .where(Redemption.reward_id == reward_id))
        stock = db.session.scalar(sa.select(RewardStock.issued).where(RewardStock.reward_id == reward_id))
        db.session.remove()
    return int(redemptions), int(stock or 0)


def assert_spent_once(app, member_id: str) -> None:
    state = ledger_state(app, member_id)
    assert state.balance == 0
    assert state.entries_sum == 0
    assert state.active_lots_remaining == 0
    assert state.negative_lots == 0
    assert state.mismatches == []


def test_fifty_concurrent_redemptions_of_a_balance_that_covers_one(app, api, race, db_backend):
    member = member_holding_exactly_one_free_drink(api)

    def redeem(client):
        return reply(client.post(f"/v1/members/{member['id']}/redemptions", {"reward_id": "free-drink"}))

    replies = race([redeem] * 50)
    assert Counter(r.status for r in replies) == {201: 1, 409: 49}
    assert {r.error_code for r in replies if r.status == 409} == {"insufficient_points"}
    assert_spent_once(app, member["id"])


def test_twenty_concurrent_redemptions_of_a_reward_with_stock_5(app, api, admin_api, race, db_backend):
    publish_stocked_mug(admin_api)
    members = [api.enroll() for _ in range(20)]

    def redeem_for(member):
        return lambda client: reply(client.post(f"/v1/members/{member['id']}/redemptions", {"reward_id": "mug"}))

    replies = race([redeem_for(m) for m in members])
    assert Counter(r.status for r in replies) == {201: 5, 409: 15}
    assert {r.error_code for r in replies if r.status == 409} == {"reward_unavailable"}
    assert issued_count(app, "mug") == (5, 5)
    balances = sorted(ledger_state(app, m["id"]).balance for m in members)
    assert balances == [WELCOME - 10] * 5 + [WELCOME] * 15


@pytest.mark.parametrize("db_backend", ["postgres"])
def test_two_server_processes_sharing_postgresql_spend_once_and_never_oversell(
        app, api, admin_api, pos_key, database_url, db_backend):
    member = member_holding_exactly_one_free_drink(api)
    publish_stocked_mug(admin_api)
    buyers = [api.enroll() for _ in range(20)]
    with gunicorn_server(database_url) as first, gunicorn_server(database_url) as second:
        servers = [first, second]
        spend = race_http([
            (lambda base=servers[i % 2]: post(base, f"/v1/members/{member['id']}/redemptions",
                                              {"reward_id": "free-drink"}, pos_key))
            for i in range(50)
        ])
        stock = race_http([
            (lambda base=servers[i % 2], buyer=buyer: post(base, f"/v1/members/{buyer['id']}/redemptions",
                                                           {"reward_id": "mug"}, pos_key))
            for i, buyer in enumerate(buyers)
        ])
    assert Counter(r.status for r in spend) == {201: 1, 409: 49}
    assert {r.error_code for r in spend if r.status == 409} == {"insufficient_points"}
    assert_spent_once(app, member["id"])
    assert Counter(r.status for r in stock) == {201: 5, 409: 15}
    assert issued_count(app, "mug") == (5, 5)
