"""The README's five-minute tour, as a test: enroll, purchase, balance, history."""

from tests.conftest import awarded_by_rule


def test_enroll_purchase_balance_history(api, db_backend):
    member = api.enroll("cust-42", email="ana@example.com", email_opt_in=True)
    assert member["points"]["balance"] == 150  # welcome 50 + email-signup 100

    result = api.purchase(member["id"], 1250, items=[
        {"sku": "latte-l", "category": "coffee", "quantity": 2, "unit_amount": 450}])
    assert awarded_by_rule(result) == {"spend": 12, "coffee-bonus": 9}
    assert result["member"]["points"]["balance"] == 171

    history = api.get(f"/v1/members/{member['id']}/transactions").get_json()
    assert [(t["type"], t["rule_id"], t["points"]) for t in history["data"]] == [
        ("earn", "coffee-bonus", 9), ("earn", "spend", 12),
        ("earn", "email-signup", 100), ("earn", "welcome", 50),
    ]
    assert sum(t["points"] for t in history["data"]) == api.member(member["id"])["points"]["balance"]
