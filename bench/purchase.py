"""The purchase the accrual benchmarks post: $12.50 with two coffees, as bench/wrk/accrual.lua sends it."""


def purchase(member_id: str, source_id: str | None = None) -> dict:
    body = {"type": "purchase", "member_id": member_id, "amount": 1250, "currency": "USD",
            "items": [{"sku": "latte", "category": "coffee", "quantity": 2, "unit_amount": 450}]}
    if source_id is not None:
        body["source_id"] = source_id
    return body
