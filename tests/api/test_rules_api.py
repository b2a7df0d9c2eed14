"""Rules for marketers over HTTP: validate, simulate, publish, versions, roll back."""

from pathlib import Path

import pytest

from tests.conftest import awarded_by_rule

DEMO = (Path(__file__).resolve().parents[2] / "rules" / "program.yaml").read_text()
SPEND_TWO_PER_DOLLAR = DEMO.replace("award: {points_per_dollar: 1}           # of the whole amount",
                                    "award: {points_per_dollar: 2}           # of the whole amount")


def test_demo_edit_changes_the_spend_rate():
    assert SPEND_TWO_PER_DOLLAR != DEMO


def test_get_rules_shows_the_active_version(admin_api):
    body = admin_api.get("/v1/rules").get_json()
    assert body["version"] == 1 and body["active"] is True
    assert body["yaml"] == DEMO


def test_rules_need_an_admin_key(api):
    response = api.get("/v1/rules")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


def test_validate_accepts_the_demo_and_points_at_the_broken_line(admin_api):
    assert admin_api.post("/v1/rules/validate", {"yaml": DEMO}).get_json() == {"valid": True, "changes": []}
    edited = DEMO.replace("award: {points: 25}", "award: {points: 30}")
    assert admin_api.post("/v1/rules/validate", {"yaml": edited}).get_json() == {
        "valid": True, "changes": ["review: 25 points → 30 points"]}
    broken = DEMO.replace("award: {points: 25}", "award: {point: 25}")
    response = admin_api.post("/v1/rules/validate", {"yaml": broken})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "rules_invalid"
    [problem] = error["details"]["errors"]
    expected_line = broken.splitlines().index(next(
        line for line in broken.splitlines() if "{point: 25}" in line)) + 1
    assert problem["line"] == expected_line
    assert "point" in problem["message"] and "points" in problem["message"]


def test_simulate_uses_given_yaml_and_writes_nothing(admin_api, api):
    member = api.enroll()
    events = [{"type": "purchase", "amount": 1250, "currency": "USD"},
              {"type": "review"}, {"type": "review"}, {"type": "review"}, {"type": "review"}]
    body = admin_api.post("/v1/rules/simulate", {"yaml": SPEND_TWO_PER_DOLLAR, "events": events,
                                                 "member": {"tier": "silver"}}).get_json()
    assert [sum(a["points"] for a in r["awarded"]) for r in body["results"]] == [31, 25, 25, 25, 0]
    assert body["total_points"] == 106
    assert api.member(member["id"])["points"]["balance"] == 50


def test_publish_changes_the_next_event_and_rollback_restores_it(admin_api, api, db_backend):
    member = api.enroll()
    assert awarded_by_rule(api.purchase(member["id"], 1000)) == {"spend": 10}

    published = admin_api.client.put("/v1/rules", json={"yaml": SPEND_TWO_PER_DOLLAR, "note": "double"},
                                     headers=admin_api.headers(idempotency_key=False))
    assert published.status_code == 201
    assert published.get_json()["version"] == 2
    result = api.purchase(member["id"], 1000)
    assert awarded_by_rule(result) == {"spend": 20}
    assert result["event"]["rules_version"] == 2

    rolled_back = admin_api.post("/v1/rules/versions/1/activate", idempotency_key=False)
    assert rolled_back.status_code == 201
    assert awarded_by_rule(api.purchase(member["id"], 1000)) == {"spend": 10}

    versions = admin_api.get("/v1/rules/versions").get_json()["data"]
    assert [(v["version"], v["active"]) for v in versions] == [(2, False), (1, True)]
    entries = api.get(f"/v1/members/{member['id']}/transactions").get_json()["data"]
    assert [e["rules_version"] for e in entries if e["rule_id"] == "spend"] == [1, 2, 1]


@pytest.mark.parametrize("body", [{"yaml": "rules: ["}, {"yaml": "program: {name: x}\nbogus: 1"}])
def test_publishing_invalid_rules_is_rejected_and_changes_nothing(admin_api, body):
    response = admin_api.client.put("/v1/rules", json=body, headers=admin_api.headers(idempotency_key=False))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "rules_invalid"
    assert admin_api.get("/v1/rules").get_json()["version"] == 1


@pytest.mark.parametrize("version", [99, 0, 2**63])
def test_activating_an_unknown_version_is_404(admin_api, version):
    response = admin_api.post(f"/v1/rules/versions/{version}/activate", idempotency_key=False)
    assert response.status_code == 404


def test_versions_are_content_hashed(admin_api):
    import hashlib

    admin_api.client.put("/v1/rules", json={"yaml": SPEND_TWO_PER_DOLLAR, "note": "double"},
                         headers=admin_api.headers(idempotency_key=False))
    versions = admin_api.get("/v1/rules/versions").get_json()["data"]
    assert [v["content_hash"] for v in versions] == [
        hashlib.sha256(text.encode()).hexdigest() for text in (SPEND_TWO_PER_DOLLAR, DEMO)]
    assert admin_api.get("/v1/rules").get_json()["content_hash"] == versions[0]["content_hash"]


def test_simulate_can_start_from_a_real_member(admin_api, api):
    member = api.enroll()
    for _ in range(3):
        api.action(member["id"], "review")
    review = [{"type": "review"}]
    real = admin_api.post("/v1/rules/simulate", {"events": review, "member": {"id": member["id"]}}).get_json()
    assert real["total_points"] == 0
    assert "3" in real["results"][0]["explanation"][0]["reason"]
    described = admin_api.post("/v1/rules/simulate", {"events": review}).get_json()
    assert described["total_points"] == 25
    gold = admin_api.post("/v1/rules/simulate", {"events": [{"type": "purchase", "amount": 1000, "currency": "USD"}],
                                                 "member": {"id": member["id"], "tier": "gold"}}).get_json()
    assert gold["total_points"] == 15
    missing = admin_api.post("/v1/rules/simulate", {"events": review, "member": {"id": "mem_nobody"}})
    assert missing.status_code == 404


def test_the_same_version_number_in_two_databases_runs_each_ones_text(app, admin_api, api, sqlite_template,
                                                                      tmp_path):
    """Compiled programs are cached by content, not by version number."""
    import shutil

    from config import TestingConfig
    from loyalty import create_app
    from loyalty.db.transactions import write_transaction
    from loyalty.extensions import db
    from loyalty.services import rules as rules_service
    from tests.conftest import ApiClient, _create_key

    admin_api.client.put("/v1/rules", json={"yaml": SPEND_TWO_PER_DOLLAR, "note": "double"},
                         headers=admin_api.headers(idempotency_key=False))
    assert awarded_by_rule(api.purchase(api.enroll()["id"], 1000)) == {"spend": 20}

    shutil.copy(sqlite_template, tmp_path / "other.db")
    other = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'other.db'}")
    with other.app_context():
        with write_transaction(db.session()):
            rules_service.publish(db.session(), DEMO, "tests")
        with write_transaction(db.session()):
            triple = DEMO.replace("award: {points_per_dollar: 1}           # of the whole amount",
                                  "award: {points_per_dollar: 3}")
            assert rules_service.publish(db.session(), triple, "tests").version == 2
        db.session.remove()
    other_api = ApiClient(other.test_client(), _create_key(other, "till", "pos"))
    assert awarded_by_rule(other_api.purchase(other_api.enroll()["id"], 1000)) == {"spend": 30}
    with other.app_context():
        db.engine.dispose()
