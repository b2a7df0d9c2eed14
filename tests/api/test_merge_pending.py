"""A merge moves pending points too: they keep their release date, a refund takes them back from the survivor,
and the release job makes them spendable there."""

from pathlib import Path

import sqlalchemy as sa
from freezegun import freeze_time

from loyalty.extensions import db
from loyalty.ledger.verify import verify_ledger
from loyalty.models import Lot

DEMO_YAML = (Path(__file__).resolve().parents[2] / "rules" / "program.yaml").read_text()
SPEND = "    award: {points_per_dollar: 1}           # of the whole amount\n    multiply_by_tier: true\n"
PENDING_SPEND = DEMO_YAML.replace(SPEND, SPEND + "    pending_days: 14\n", 1)


def test_pending_points_move_with_their_release_date(app, api, admin_api, runner, db_backend):
    assert PENDING_SPEND != DEMO_YAML
    admin_api.publish_rules(PENDING_SPEND, "pending")
    with freeze_time("2026-11-02T15:00:00Z") as frozen:
        ana, dup = api.enroll(), api.enroll()
        sale = api.purchase(dup["id"], 10_000)
        [award] = [a for a in sale["awarded"] if a["rule_id"] == "spend"]
        assert award["status"] == "pending"
        merged = admin_api.post(f"/v1/members/{ana['id']}/merge", {"member_id": dup["id"]})
        assert merged.status_code == 200, merged.get_json()
        points = merged.get_json()["points"]
        assert (points["balance"], points["pending"]) == (100, 100)
        with app.app_context():
            [lot] = db.session.scalars(sa.select(Lot).where(Lot.member_id == ana["id"], Lot.status == "pending"))
            assert (lot.remaining, lot.event_id) == (100, sale["event"]["id"])
            assert lot.available_at.isoformat().replace("+00:00", "Z") == award["available_at"]
            db.session.remove()

        refund = api.post(f"/v1/events/{sale['event']['id']}/refunds", {"amount": 4_000})
        assert refund.status_code == 201 and refund.get_json()["reversed_points"] == 40
        assert refund.get_json()["member"]["points"]["pending"] == 60

        frozen.move_to("2026-11-17T15:00:00Z")
        result = runner.invoke(args=["jobs", "run", "--step", "release-pending"])
        assert result.exit_code == 0, result.output
        points = api.member(ana["id"])["points"]
        assert (points["balance"], points["pending"]) == (160, 0)
    with app.app_context():
        assert verify_ledger(db.session()) == []
        db.session.remove()
