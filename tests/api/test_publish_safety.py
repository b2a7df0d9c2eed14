"""Publishing rules safely (contract 1.1): a change that would hurt the tills or the members' codes asks for
a confirmation, in the API, the CLI and /admin, and nothing changes until it gets one."""

import uuid
from pathlib import Path

DEMO = (Path(__file__).resolve().parents[2] / "rules" / "program.yaml").read_text()
TYPO = DEMO.replace("on: review", "on: reveiw")
WITHOUT_FREE_DRINK = DEMO.replace("""  - id: free-drink
    name: Any drink, any size
    points_cost: 150
    type: free_item

""", "")
WITH_VISITS = DEMO.replace("\n# The reward catalog", """
  - id: visit-bonus
    description: Thanks for stopping by
    on: visit
    award: {points: 5}

# The reward catalog""")
assert WITH_VISITS != DEMO


def put_rules(admin_api, yaml: str, **body):
    return admin_api.client.put("/v1/rules", json={"yaml": yaml, "note": "test", **body},
                                headers=admin_api.headers(idempotency_key=False))


def post_event(api, member_id: str, event_type: str):
    return api.post("/v1/events", {"type": event_type, "member_id": member_id, "source_id": uuid.uuid4().hex},
                    idempotency_key=uuid.uuid4().hex)


def active_version(admin_api) -> int:
    return admin_api.get("/v1/rules").get_json()["version"]


def test_a_typo_that_drops_an_action_the_tills_use_needs_a_confirmation(admin_api, api):
    member = api.enroll()
    assert post_event(api, member["id"], "review").status_code == 201
    assert post_event(api, member["id"], "review").status_code == 201

    refused = put_rules(admin_api, TYPO)
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "confirmation_required"
    [warning] = error["details"]["warnings"]
    assert (warning["code"], warning["action"], warning["events_last_30_days"]) == ("action_dropped", "review", 2)
    assert "'review'" in warning["message"] and "confirm" in error["message"]
    assert active_version(admin_api) == 1
    assert post_event(api, member["id"], "review").status_code == 201, "nothing changed for the tills"

    assert put_rules(admin_api, TYPO, confirm=True).status_code == 201
    assert active_version(admin_api) == 2
    assert post_event(api, member["id"], "review").status_code == 422


def test_a_harmless_change_publishes_without_a_question(admin_api, api):
    member = api.enroll()
    assert post_event(api, member["id"], "review").status_code == 201
    assert put_rules(admin_api, DEMO.replace("award: {points: 25}", "award: {points: 30}")).status_code == 201


def test_removing_a_reward_with_unused_codes_needs_a_confirmation(admin_api, api):
    member = api.enroll()
    api.purchase(member["id"], 30000)
    issued = api.post(f"/v1/members/{member['id']}/redemptions", {"reward_id": "free-drink"},
                      idempotency_key=uuid.uuid4().hex).get_json()
    refused = put_rules(admin_api, WITHOUT_FREE_DRINK)
    assert refused.status_code == 409
    [warning] = refused.get_json()["error"]["details"]["warnings"]
    assert (warning["code"], warning["reward_id"], warning["unused_codes"]) == ("reward_removed", "free-drink", 1)

    used = api.post(f"/v1/redemptions/{issued['code']}/complete", idempotency_key=uuid.uuid4().hex)
    assert used.status_code in (200, 201), used.get_json()
    assert put_rules(admin_api, WITHOUT_FREE_DRINK).status_code == 201, "a used code holds nothing back"


def test_a_risky_rollback_asks_too(admin_api, api):
    assert put_rules(admin_api, WITH_VISITS).status_code == 201
    member = api.enroll()
    assert post_event(api, member["id"], "visit").status_code == 201
    refused = admin_api.post("/v1/rules/versions/1/activate", idempotency_key=False)
    assert refused.status_code == 409
    assert [w["action"] for w in refused.get_json()["error"]["details"]["warnings"]] == ["visit"]
    assert active_version(admin_api) == 2
    confirmed = admin_api.post("/v1/rules/versions/1/activate", {"confirm": True}, idempotency_key=False)
    assert confirmed.status_code == 201
    assert active_version(admin_api) == 1


def test_the_cli_lists_the_warnings_and_publishes_only_with_confirm(app, api, runner, tmp_path):
    member = api.enroll()
    assert post_event(api, member["id"], "review").status_code == 201
    (tmp_path / "program.yaml").write_text(TYPO)
    refused = runner.invoke(args=["rules", "load", str(tmp_path)])
    assert refused.exit_code != 0
    assert "action_dropped" in refused.output and "--confirm" in refused.output
    published = runner.invoke(args=["rules", "load", str(tmp_path), "--confirm"])
    assert published.exit_code == 0, published.output
    assert "Published and activated rules version 2" in published.output


def test_removing_a_tier_members_hold_needs_a_confirmation(admin_api, api):
    without_silver = DEMO.replace("    - {id: silver, name: Silver, qualifying_points: 500, multiplier: 1.25}\n", "") \
        .replace("tiers: [silver, gold]", "tiers: [gold]")
    assert without_silver.count("silver") == 0
    assert put_rules(admin_api, without_silver, note="no members at Silver yet").status_code == 201
    admin_api.post("/v1/rules/versions/1/activate", idempotency_key=False)
    silver = api.enroll()
    api.purchase(silver["id"], 60000)
    assert api.member(silver["id"])["tier"]["id"] == "silver"
    refused = put_rules(admin_api, without_silver)
    assert refused.status_code == 409
    [warning] = refused.get_json()["error"]["details"]["warnings"]
    assert (warning["code"], warning["tier_id"], warning["members"]) == ("tier_removed", "silver", 1)
    assert warning["message"] == "The Silver tier goes while 1 member holds it."
