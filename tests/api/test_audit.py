"""The audit log (contract 1.1): every publish, rollback, adjustment, key created or revoked and erasure, with
who, when, what and the note; newest first; and never editable, by the database itself."""

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from loyalty.extensions import db

DEMO = (Path(__file__).resolve().parents[2] / "rules" / "program.yaml").read_text()
REVIEWS_30 = DEMO.replace("award: {points: 25}", "award: {points: 30}")


def audit_log(admin_api, query: str = "") -> dict:
    response = admin_api.get(f"/v1/audit{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_every_audited_change_says_who_when_what_and_why(app, admin_api, api, runner, admin_key):
    with freeze_time("2026-11-10T15:00:00Z"):
        published = admin_api.client.put("/v1/rules", json={"yaml": REVIEWS_30, "note": "reviews pay 30"},
                                         headers=admin_api.headers(idempotency_key=False))
        assert published.status_code == 201
    with freeze_time("2026-11-10T15:01:00Z"):
        assert admin_api.post("/v1/rules/versions/1/activate", idempotency_key=False).status_code == 201
    with freeze_time("2026-11-10T15:02:00Z"):
        member = api.enroll()
        adjusted = admin_api.post(f"/v1/members/{member['id']}/adjustments",
                                  {"points": -40, "reason": "goodwill correction"}, idempotency_key=uuid.uuid4().hex)
        assert adjusted.status_code == 201, adjusted.get_json()
    with freeze_time("2026-11-10T15:03:00Z"):
        assert runner.invoke(args=["keys", "create", "--name", "till-9", "--scope", "pos"]).exit_code == 0
    with freeze_time("2026-11-10T15:04:00Z"):
        assert runner.invoke(args=["keys", "revoke", "--name", "till-9"]).exit_code == 0
        assert runner.invoke(args=["keys", "revoke", "--name", "till-9"]).exit_code == 0  # again: no new record
    with freeze_time("2026-11-10T15:05:00Z"):
        assert admin_api.client.delete(f"/v1/members/{member['id']}",
                                       headers=admin_api.headers(idempotency_key=False)).status_code in (200, 204)

    rows = audit_log(admin_api)["data"]
    admin = "admin-test"  # the admin_key fixture's name: the actor is the key that made the change
    seen = [(r["at"], r["actor"], r["action"], r["target"], r["note"]) for r in rows if r["at"] < "2026-11-11"]
    assert {(r["action"], r["target"]) for r in rows if r["at"] >= "2026-11-11"} >= {
        ("key_created", "admin-test"), ("key_created", "till-1")}  # the fixtures' keys, made today
    assert seen == [
        ("2026-11-10T15:05:00Z", admin, "erasure", member["id"], None),
        ("2026-11-10T15:04:00Z", "cli", "key_revoked", "till-9", None),
        ("2026-11-10T15:03:00Z", "cli", "key_created", "till-9", None),
        ("2026-11-10T15:02:00Z", admin, "adjustment", member["id"], "goodwill correction"),
        ("2026-11-10T15:01:00Z", admin, "rollback", "rules version 1", None),
        ("2026-11-10T15:00:00Z", admin, "publish", "rules version 2", "reviews pay 30"),
    ]
    details = {r["action"]: r["details"] for r in rows}
    assert details["publish"] == {"version": 2, "previous_version": 1, "confirmed_warnings": [],
                                  "content_hash": published.get_json()["content_hash"]}
    assert details["rollback"] == {"version": 1, "previous_version": 2, "confirmed_warnings": []}
    assert details["adjustment"]["points"] == -40 and details["adjustment"]["balance_after"] == 10
    assert details["key_created"]["scope"] == "pos"
    assert [r["action"] for r in audit_log(admin_api, "?action=adjustment")["data"]] == ["adjustment"]


def test_the_log_pages_newest_first_and_needs_an_admin_key(admin_api, api):
    for points in (1, 2, 3):
        member = api.enroll()
        admin_api.post(f"/v1/members/{member['id']}/adjustments", {"points": points, "reason": f"r{points}"},
                       idempotency_key=uuid.uuid4().hex)
    first = audit_log(admin_api, "?action=adjustment&limit=2")
    second = audit_log(admin_api, f"?action=adjustment&limit=2&cursor={first['next_cursor']}")
    assert [r["note"] for r in first["data"] + second["data"]] == ["r3", "r2", "r1"]
    assert second["next_cursor"] is None
    assert api.get("/v1/audit").status_code == 403
    assert admin_api.get("/v1/audit?action=delete").status_code == 422


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET note = 'rewritten'", "DELETE FROM audit_log"])
def test_the_database_refuses_to_edit_or_delete_history(app, admin_api, api, statement):
    member = api.enroll()
    admin_api.post(f"/v1/members/{member['id']}/adjustments", {"points": 5, "reason": "kept"},
                   idempotency_key=uuid.uuid4().hex)
    with app.app_context():
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with db.engine.begin() as connection:
                connection.execute(sa.text(statement))
        db.engine.dispose()
    assert [r["note"] for r in audit_log(admin_api, "?action=adjustment")["data"]] == ["kept"]
