"""A merge racing accruals and a redemption on the duplicate: every point ends on the survivor exactly once.

Whatever order the database settles them in, an accrual either lands on the
duplicate before the merge (and its lots move) or after (and is sent to the
survivor); the redemption spends the duplicate's points or the survivor's,
never both and never none.
"""

import uuid
from collections import Counter

from tests.concurrency.racing import ledger_state, quiet_day, reply, rfc3339

ACCRUALS = 8
ROUNDS = 3


def test_a_merge_racing_accruals_and_a_redemption_on_the_duplicate(app, admin_api, admin_key, race, db_backend):
    occurred_at = rfc3339(quiet_day())
    for _ in range(ROUNDS):
        survivor, duplicate = admin_api.enroll(), admin_api.enroll()
        admin_api.purchase(duplicate["id"], 20_000, occurred_at=occurred_at)  # 50 + 200 points
        replies = race(racing_calls(survivor["id"], duplicate["id"], occurred_at), key=admin_key)

        assert Counter(r.status for r in replies) == {200: 1, 201: 1 + ACCRUALS}, [r.body for r in replies]
        earned = sum(a["points"] for r in replies[2:] for a in r.body["awarded"])
        assert earned == 10 * ACCRUALS
        expected = 50 + 50 + 200 + earned - 150
        after_survivor, after_duplicate = ledger_state(app, survivor["id"]), ledger_state(app, duplicate["id"])
        assert after_survivor.balance == after_survivor.entries_sum == expected
        assert after_survivor.active_lots_remaining == expected
        assert after_duplicate.balance == after_duplicate.entries_sum == 0
        assert after_duplicate.active_lots_remaining == 0
        assert after_survivor.mismatches == []
        assert admin_api.get(f"/v1/members/{duplicate['id']}").status_code == 410


def racing_calls(survivor_id: str, duplicate_id: str, occurred_at: str) -> list:
    """The merge, a redemption on the duplicate, then ``ACCRUALS`` purchases of $10 by the duplicate."""
    def accrue(client):
        return reply(client.post("/v1/events", {
            "type": "purchase", "member_id": duplicate_id, "amount": 1_000, "currency": "USD",
            "source_id": uuid.uuid4().hex, "occurred_at": occurred_at}))

    def redeem(client):
        return reply(client.post(f"/v1/members/{duplicate_id}/redemptions", {"reward_id": "free-drink"}))

    def merge(client):
        return reply(client.post(f"/v1/members/{survivor_id}/merge", {"member_id": duplicate_id}))

    return [merge, redeem, *[accrue] * ACCRUALS]
