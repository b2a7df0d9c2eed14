"""Transfers racing each other: both ways at once never deadlock, never spend a point twice, never pass the
monthly limit."""

from collections import Counter
from pathlib import Path

from tests.concurrency.racing import ledger_state, reply

DEMO_YAML = (Path(__file__).resolve().parents[2] / "rules" / "program.yaml").read_text()


def allow_transfers(admin_api, extra: str = "") -> None:
    response = admin_api.client.put("/v1/rules", json={"yaml": DEMO_YAML + "\ntransfers:\n  enabled: true\n" + extra,
                                                       "note": "transfers"},
                                    headers=admin_api.headers(idempotency_key=False))
    assert response.status_code == 201, response.get_json()


def giving(from_id: str, to_id: str, points: int):
    def give(client):
        return reply(client.post(f"/v1/members/{from_id}/transfers", {"to_member_id": to_id, "points": points}))
    return give


def test_transfers_both_ways_at_once_keep_every_point(app, api, admin_api, race, db_backend):
    allow_transfers(admin_api)
    ana, ben = api.enroll(), api.enroll()
    api.purchase(ana["id"], 20_000)
    api.purchase(ben["id"], 5_000)
    replies = race([giving(ana["id"], ben["id"], 40)] * 8 + [giving(ben["id"], ana["id"], 30)] * 8)
    assert {r.status for r in replies} <= {201, 409}
    assert {r.error_code for r in replies if r.status == 409} <= {"insufficient_points"}
    sent = Counter((r.body["from_member_id"], r.body["points"]) for r in replies if r.status == 201)
    after_ana, after_ben = ledger_state(app, ana["id"]), ledger_state(app, ben["id"])
    assert after_ana.balance == 250 - 40 * sent[ana["id"], 40] + 30 * sent[ben["id"], 30]
    assert after_ana.balance + after_ben.balance == 250 + 100
    for state in (after_ana, after_ben):
        assert state.balance == state.entries_sum == state.active_lots_remaining >= 0
    assert after_ana.mismatches == []


def test_racing_transfers_never_pass_the_monthly_limit(app, api, admin_api, race, db_backend):
    allow_transfers(admin_api, "  max_points_per_month: 100\n")
    ana, ben = api.enroll(), api.enroll()
    api.purchase(ana["id"], 50_000)
    replies = race([giving(ana["id"], ben["id"], 40)] * 6)
    assert Counter(r.status for r in replies) == {201: 2, 409: 4}
    assert {r.error_code for r in replies if r.status == 409} == {"invalid_state"}
    assert ledger_state(app, ben["id"]).balance == 50 + 80
