"""Members giving each other points (contract 1.1: POST /v1/members/{id}/transfers), when the program allows it."""

from pathlib import Path

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from loyalty.engine import load_program
from loyalty.engine.errors import RulesInvalid
from loyalty.extensions import db
from loyalty.ledger.verify import verify_ledger
from loyalty.models import Lot, OutboxEvent

DEMO_YAML = (Path(__file__).resolve().parents[2] / "rules" / "program.yaml").read_text()
TRANSFERS = "\ntransfers:\n  enabled: true\n  min_points: 20\n  max_points_per_month: 300\n"


def publish(admin_api, yaml: str) -> None:
    admin_api.publish_rules(yaml, "transfers")


def give(api, from_id, to_id, points, **kwargs):
    return api.post(f"/v1/members/{from_id}/transfers", {"to_member_id": to_id, "points": points}, **kwargs)


def lots_of(app, member_id) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(sa.select(Lot.expires_at, Lot.remaining).where(
            Lot.member_id == member_id, Lot.remaining > 0).order_by(Lot.expires_at)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def test_transfers_are_refused_unless_the_program_allows_them(api):
    ana, ben = api.enroll(), api.enroll()
    response = give(api, ana["id"], ben["id"], 20)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "invalid_state"
    assert api.member(ana["id"])["points"]["balance"] == 50


def test_points_leave_the_lots_that_expire_first_and_arrive_with_the_same_expiry(app, api, admin_api, db_backend):
    publish(admin_api, DEMO_YAML + TRANSFERS)
    with freeze_time("2026-06-10T15:00:00Z") as frozen:
        ana = api.enroll()  # 50 welcome points expiring 2027-06-10
        frozen.move_to("2026-08-10T15:00:00Z")
        api.purchase(ana["id"], 10_000)  # 100 points expiring 2027-08-10
        ben = api.enroll()
        first_expiry, second_expiry = [expires for expires, _ in lots_of(app, ana["id"])]

        response = give(api, ana["id"], ben["id"], 80, idempotency_key="gift-1")

        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert body["id"].startswith("trf_")
        assert (body["from_member_id"], body["to_member_id"], body["points"]) == (ana["id"], ben["id"], 80)
        assert body["from"]["points"]["balance"] == 70 and body["to"]["points"]["balance"] == 130
        assert lots_of(app, ana["id"]) == [(second_expiry, 70)]
        assert sorted(lots_of(app, ben["id"])) == sorted([(first_expiry, 50), (second_expiry, 30),
                                                          (lots_of(app, ben["id"])[-1][0], 50)])
        replay = give(api, ana["id"], ben["id"], 80, idempotency_key="gift-1")
        assert replay.headers["Idempotent-Replayed"] == "true" and replay.get_json() == body
        assert api.member(ana["id"])["points"]["balance"] == 70
        for member, points in ((ana, -80), (ben, 80)):
            last = api.get(f"/v1/members/{member['id']}/transactions").get_json()["data"][0]
            assert (last["type"], last["points"], last["reason"]) == ("transfer", points, f"Transfer {body['id']}")
    with app.app_context():
        assert verify_ledger(db.session()) == []
        db.session.remove()


def test_never_more_than_the_spendable_balance(api, admin_api, db_backend):
    publish(admin_api, DEMO_YAML + TRANSFERS)
    ana, ben = api.enroll(), api.enroll()
    response = give(api, ana["id"], ben["id"], 51)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "insufficient_points" and error["details"]["spendable"] == 50
    assert api.member(ana["id"])["points"]["balance"] == 50 and api.member(ben["id"])["points"]["balance"] == 50


def test_min_points_and_the_monthly_limit_are_enforced(api, admin_api, db_backend):
    publish(admin_api, DEMO_YAML + TRANSFERS)
    with freeze_time("2026-11-10T15:00:00Z") as frozen:
        ana, ben = api.enroll(), api.enroll()
        api.purchase(ana["id"], 60_000)
        small = give(api, ana["id"], ben["id"], 19)
        assert small.status_code == 422
        assert small.get_json()["error"]["details"]["fields"]["points"] == [
            "must be at least 20 (the program's min_points)"]
        assert give(api, ana["id"], ben["id"], 200).status_code == 201
        over = give(api, ana["id"], ben["id"], 101)
        assert over.status_code == 409
        error = over.get_json()["error"]
        assert error["code"] == "invalid_state"
        assert error["details"] == {"max_points_per_month": 300, "sent_this_month": 200, "requested": 101,
                                    "remaining": 100}
        assert give(api, ana["id"], ben["id"], 100).status_code == 201
        frozen.move_to("2026-12-01T15:00:00Z")  # a new month in New York
        assert give(api, ana["id"], ben["id"], 300).status_code == 201


def test_bad_transfers_say_what_is_wrong(api, admin_api, db_backend):
    publish(admin_api, DEMO_YAML + TRANSFERS)
    ana, ben = api.enroll(), api.enroll()
    to_self = give(api, ana["id"], ana["id"], 20)
    assert to_self.status_code == 422 and "to_member_id" in to_self.get_json()["error"]["details"]["fields"]
    nobody = give(api, ana["id"], "mem_nobody", 20)
    assert nobody.status_code == 422 and "to_member_id" in nobody.get_json()["error"]["details"]["fields"]
    assert give(api, "mem_nobody", ben["id"], 20).status_code == 404
    for points in (0, -5, "ten", 2.5):
        assert give(api, ana["id"], ben["id"], points).status_code == 422, points
    assert api.patch(f"/v1/members/{ben['id']}", {"status": "suspended"}).status_code == 200
    suspended = give(api, ana["id"], ben["id"], 20)
    assert suspended.status_code == 409 and suspended.get_json()["error"]["code"] == "member_inactive"


def test_both_members_hear_of_a_transfer_and_it_is_audited(app, api, admin_api, db_backend):
    publish(admin_api, DEMO_YAML + TRANSFERS)
    endpoint = admin_api.post("/v1/webhook-endpoints", {"url": "https://crm.example.com/hooks",
                                                        "events": ["points.transferred"]}, idempotency_key=False)
    assert endpoint.status_code == 201, endpoint.get_json()
    ana, ben = api.enroll(), api.enroll()
    body = give(api, ana["id"], ben["id"], 30).get_json()
    with app.app_context():
        events = db.session.execute(sa.select(OutboxEvent.type, OutboxEvent.member_id, OutboxEvent.data)
                                    .where(OutboxEvent.type == "points.transferred")).all()
        db.session.remove()
    assert {(member, data["direction"], data["points"]) for _, member, data in events} == {
        (ana["id"], "sent", 30), (ben["id"], "received", 30)}
    [record] = admin_api.get("/v1/audit?action=transfer").get_json()["data"]
    assert record["target"] == ana["id"] and record["details"]["transfer_id"] == body["id"]


@pytest.mark.parametrize(("block", "line", "path", "message"), [
    ("transfers:\n  enabled: yes please\n", 2, "transfers.enabled", "expected true or false"),
    ("transfers:\n  enabled: true\n  min_points: 0\n", 3, "transfers.min_points", ""),
    ("transfers:\n  enabled: true\n  min_points: 50\n  max_points_per_month: 40\n", 4,
     "transfers.max_points_per_month", "must be at least min_points (50)"),
    ("transfers:\n  enabld: true\n", 2, "transfers", ""),
])
def test_the_transfers_block_is_checked_with_file_and_line(block, line, path, message):
    with pytest.raises(RulesInvalid) as raised:
        load_program(DEMO_YAML + "\n" + block, "program.yaml")
    offset = DEMO_YAML.count("\n") + 1
    error = raised.value.errors[0]
    assert (error.file, error.line - offset, error.path) == ("program.yaml", line, path), error
    assert message in error.message


def test_the_transfers_block_compiles():
    program = load_program(DEMO_YAML + TRANSFERS)
    assert (program.transfers.enabled, program.transfers.min_points, program.transfers.max_points_per_month) == (
        True, 20, 300)
    assert not load_program(DEMO_YAML).transfers.enabled
