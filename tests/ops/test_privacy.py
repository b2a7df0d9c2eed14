"""Privacy: erasing a member's personal data keeps the ledger; exporting returns everything held."""

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from loyalty.extensions import db
from loyalty.ledger.verify import verify_ledger
from loyalty.models import OutboxEvent
from tests.ops.receivers import subscribe

NOW = "2026-11-10T15:00:00Z"
PERSONAL = {"external_id": "cust-42", "email": "ana@example.com", "phone": "+1 212 555 0100",
            "first_name": "Ana", "last_name": "López", "birthday": "1990-12-31", "stripe_customer_id": "cus_123"}


def erase(client, member_id, key=None):
    return client.client.delete(f"/v1/members/{member_id}", headers=client.headers(key, idempotency_key=False))


@pytest.fixture
def ana(api):
    member = api.enroll(**PERSONAL, email_opt_in=True)
    api.purchase(member["id"], 1250)
    return member


@freeze_time(NOW)
def test_erasure_blanks_personal_data_and_keeps_the_ledger(db_backend, app, api, ana):
    before = api.get(f"/v1/members/{ana['id']}/transactions").get_json()["data"]
    response = erase(api, ana["id"])
    assert response.status_code == 200, response.get_json()
    erased = response.get_json()
    assert erased["status"] == "erased"
    assert {k: erased[k] for k in PERSONAL} == dict.fromkeys(PERSONAL)
    assert erased["email_opt_in"] is False
    assert erased["points"]["balance"] == 162 == ana["points"]["balance"] + 12
    assert api.get(f"/v1/members/{ana['id']}/transactions").get_json()["data"] == before
    assert api.get("/v1/members", query_string={"email": "ana@example.com"}).get_json()["data"] == []
    with app.app_context():
        assert verify_ledger(db.session()) == []
        db.session.remove()


@freeze_time(NOW)
def test_an_erased_member_cannot_be_reached_by_its_old_external_id(api, ana):
    assert erase(api, ana["id"]).status_code == 200
    again = api.enroll("cust-42")  # a new member, never the old account
    assert again["id"] != ana["id"] and again["points"]["balance"] == 50
    assert api.get("/v1/members", query_string={"external_id": "cust-42"}).get_json()["data"][0]["id"] == again["id"]
    event = api.post("/v1/events", {"type": "purchase", "member_id": ana["id"], "amount": 500, "currency": "USD"})
    assert event.status_code == 409 and event.get_json()["error"]["code"] == "member_inactive"
    patch = api.patch(f"/v1/members/{ana['id']}", {"email": "new@example.com"})
    assert patch.status_code == 409 and patch.get_json()["error"]["code"] == "member_inactive"


@freeze_time(NOW)
def test_an_erased_member_refuses_adjustments(admin_api, ana):
    assert erase(admin_api, ana["id"]).status_code == 200
    response = admin_api.post(f"/v1/members/{ana['id']}/adjustments", {"points": 5, "reason": "x"})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "member_inactive"


@freeze_time(NOW)
def test_erasing_twice_is_harmless_and_unknown_members_are_404(api, ana):
    assert erase(api, ana["id"]).status_code == 200
    second = erase(api, ana["id"])
    assert second.status_code == 200 and second.get_json()["status"] == "erased"
    assert erase(api, "mem_nope").status_code == 404


@freeze_time(NOW)
def test_a_retried_enrolment_after_erasure_does_not_bring_the_member_back(api):
    body = {"external_id": "cust-7", "email": "kim@example.com"}
    first = api.post("/v1/members", body, idempotency_key="enrol-cust-7")
    assert first.status_code == 201
    assert erase(api, first.get_json()["id"]).status_code == 200
    replay = api.post("/v1/members", body, idempotency_key="enrol-cust-7")
    assert replay.status_code == 409 and replay.get_json()["error"]["code"] == "member_inactive"
    assert b"kim@example.com" not in replay.data


@freeze_time(NOW)
def test_erasure_scrubs_webhook_events_and_tells_subscribers(app, api, admin_api, receiver):
    subscribe(admin_api, receiver.url, ["member.enrolled", "member.erased"])
    member = api.enroll(**PERSONAL)
    assert erase(api, member["id"]).status_code == 200
    with app.app_context():
        events = db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.seq)).all()
        db.session.remove()
    assert [e.type for e in events] == ["member.enrolled", "member.erased"]
    enrolled = events[0].data["member"]
    assert enrolled["id"] == member["id"] and all(enrolled[k] is None for k in PERSONAL)
    assert events[1].data["member_id"] == member["id"]


@freeze_time(NOW)
def test_the_export_holds_everything_about_the_member(admin_api, api, ana):
    admin_api.post(f"/v1/members/{ana['id']}/adjustments", {"points": 1000, "reason": "gift"})
    redeemed = api.post(f"/v1/members/{ana['id']}/redemptions", {"reward_id": "free-drink"})
    assert redeemed.status_code == 201, redeemed.get_json()
    response = api.get(f"/v1/members/{ana['id']}/export")
    assert response.status_code == 200
    export = response.get_json()
    assert export["exported_at"] == "2026-11-10T15:00:00Z"
    assert {k: export["member"][k] for k in PERSONAL} == PERSONAL
    assert export["member"]["balance"] == 162 + 1000 - 150
    assert [e["type"] for e in export["events"]] == ["enrolled", "email_signup", "purchase"]
    assert sorted(t["type"] for t in export["transactions"]) == ["adjust", "earn", "earn", "earn", "redeem"]
    assert sum(t["points"] for t in export["transactions"]) == export["member"]["balance"]
    assert [r["reward_id"] for r in export["redemptions"]] == ["free-drink"]
    assert export["lots"]
    [day] = export["member_days"]  # the purchase's points count towards a tier and the daily cap alike
    assert day["qualifying_points"] > 0 and day["usage"] == {"cap:purchase-daily": day["qualifying_points"]}
    assert export["tier_changes"] == [] and export["webhook_events"] == []
    assert api.get("/v1/members/mem_nope/export").status_code == 404


@freeze_time(NOW)
def test_the_export_of_an_erased_member_holds_no_personal_data(api, ana):
    erase(api, ana["id"])
    export = api.get(f"/v1/members/{ana['id']}/export").get_json()
    assert {k: export["member"][k] for k in PERSONAL} == dict.fromkeys(PERSONAL)
    assert export["member"]["status"] == "erased" and len(export["transactions"]) == 3


def test_privacy_scope_can_be_raised_to_admin(app, api, admin_api, ana):
    app.config["PRIVACY_SCOPE"] = "admin"
    assert erase(api, ana["id"]).status_code == 403
    assert api.get(f"/v1/members/{ana['id']}/export").status_code == 403
    assert admin_api.get(f"/v1/members/{ana['id']}/export").status_code == 200
    assert erase(admin_api, ana["id"]).status_code == 200
