"""OWASP API3: a client cannot set what only the ledger or the service may set."""

import pytest

PROTECTED = {
    "points": 1_000_000, "balance": 1_000_000, "lifetime_earned": 5, "tier": "gold", "tier_id": "gold",
    "status": "active", "id": "mem_mine", "referral_code": "FREEPTS1", "enrolled_at": "2020-01-01T00:00:00Z",
    "lifecycle_stage": "advocate",
}


@pytest.mark.parametrize("field", sorted(PROTECTED))
def test_enrolment_refuses_fields_the_service_owns(api, field):
    response = api.post("/v1/members", {"external_id": f"cust-{field}", field: PROTECTED[field]})
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["details"]["fields"]
    assert api.get(f"/v1/members?external_id=cust-{field}").get_json()["data"] == []


@pytest.mark.parametrize("field", sorted(set(PROTECTED) - {"status"}))
def test_patch_refuses_fields_the_service_owns(api, field):
    member = api.enroll()
    response = api.patch(f"/v1/members/{member['id']}", {field: PROTECTED[field]})
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["details"]["fields"]
    assert api.member(member["id"])["points"]["balance"] == member["points"]["balance"]


@pytest.mark.parametrize("status", ["erased", "gold", "deleted"])
def test_patch_may_only_suspend_or_reactivate(api, status):
    member = api.enroll()
    response = api.patch(f"/v1/members/{member['id']}", {"status": status})
    assert response.status_code == 422
    assert "status" in response.get_json()["error"]["details"]["fields"]
    assert api.member(member["id"])["status"] == "active"


def test_events_cannot_name_their_own_points_or_rules(api):
    member = api.enroll()
    for field, value in (("points", 5000), ("awarded", []), ("rules_version", 1), ("rule_id", "welcome")):
        response = api.post("/v1/events", {"type": "review", "member_id": member["id"], field: value})
        assert response.status_code == 422, field
        assert field in response.get_json()["error"]["details"]["fields"]
    assert api.member(member["id"])["points"]["balance"] == member["points"]["balance"]


def test_a_redemption_cannot_choose_its_price(api):
    member = api.enroll()
    response = api.post(f"/v1/members/{member['id']}/redemptions", {"reward_id": "free-drink", "points_cost": 1})
    assert response.status_code == 422
    assert "points_cost" in response.get_json()["error"]["details"]["fields"]
