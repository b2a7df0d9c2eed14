"""/demo and /widget.js: a demo that tells the truth, and the widget's weight on a page.

The demo member's history is played at its own times: enrolled 355 days ago,
then six purchases, each accrued the moment it happened, by the demo program
of rules/program.yaml (1 point per $1, 1 more per $1 of coffee, × 1.25 from
Silver, reached at 500 qualifying points).
"""

import gzip
import re
from datetime import timedelta

import sqlalchemy as sa
from freezegun import freeze_time

from loyalty import clock
from loyalty.extensions import db
from loyalty.ledger.verify import verify_ledger
from loyalty.models import LedgerEntry, Member
from loyalty.widget.demo import DEMO_MEMBER_MINUTES, ENROLLED_DAYS_AGO, PURCHASES
from tests.api.test_widget_api import WIDGET_JS, Widget

NOW = "2026-12-07T15:00:00Z"


def open_demo(client, path="/demo") -> tuple[str, str, str]:
    """(the page, its member id, its widget token)"""
    page = client.get(path).get_data(as_text=True)
    member_id = re.search(r'data-demo-member="(mem_[^"]+)"', page).group(1)
    token = re.search(r'data-loyalty-widget data-token="(lwt_[^"]+)"', page).group(1)
    return page, member_id, token


def expected_points() -> tuple[int, int]:
    """(balance, qualifying points) worked out from the demo's purchases: welcome 50, email sign-up 100,
    then each purchase's spend and coffee points, × 1.25 once 500 qualifying points made the member Silver."""
    balance, qualifying = 150, 0
    for _, amount, items in PURCHASES:
        coffee = sum(item.unit_amount * item.quantity for item in items if item.category == "coffee")
        percent = 125 if qualifying >= 500 else 100
        points = amount * percent // 10_000 + coffee * percent // 10_000
        balance, qualifying = balance + points, qualifying + points
    return balance, qualifying


@freeze_time(NOW)
def test_each_visitor_gets_a_demo_member_whose_history_starts_after_enrolling(app, api):
    app.config["WIDGET_DEMO"] = True
    client = app.test_client()
    page, member_id, token = open_demo(client)
    assert open_demo(client)[1] == member_id, "the same visitor keeps their member"
    assert open_demo(app.test_client())[1] != member_id, "another visitor gets one of their own"
    assert '<script src="http://localhost/widget.js" defer>' in page

    me = Widget(client, token).get("/v1/me?include=transactions").get_json()
    balance, qualifying = expected_points()
    assert (me["points"]["balance"], me["tier"]["name"], me["tier"]["qualifying_points"]) == (
        balance, "Silver", qualifying)
    assert me["tier"]["next"] == {"id": "gold", "name": "Gold", "points_needed": 1500 - qualifying}
    now = clock.now()
    # The welcome and sign-up points, earned on enrolling, expire 12 months on: inside the 30 days.
    assert me["points"]["expiring_soon"][0] == {
        "points": 150, "expires_at": (now - timedelta(days=ENROLLED_DAYS_AGO) + timedelta(days=365)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")}
    with app.app_context():
        enrolled_at = db.session.get(Member, member_id).enrolled_at
        entries = db.session.scalars(sa.select(LedgerEntry).where(LedgerEntry.member_id == member_id)).all()
        assert verify_ledger(db.session()) == []
        db.session.remove()
    assert enrolled_at == now - timedelta(days=ENROLLED_DAYS_AGO)
    assert len(entries) == 2 + 2 * len(PURCHASES)
    assert min(entry.created_at for entry in entries) == enrolled_at
    assert {t["description"] for t in me["transactions"]["data"]} >= {"1 more point per dollar spent on coffee"}


def test_a_visitors_member_is_replaced_after_some_minutes_and_on_start_over(app, api):
    app.config["WIDGET_DEMO"] = True
    client = app.test_client()
    with freeze_time(NOW) as frozen:
        _, first, _ = open_demo(client)
        frozen.tick(timedelta(minutes=DEMO_MEMBER_MINUTES - 1))
        assert open_demo(client)[1] == first
        frozen.tick(timedelta(minutes=2))
        _, second, _ = open_demo(client)
        assert second != first
        answer = client.post("/demo/reset", data={"mode": "launcher"})
        assert (answer.status_code, answer.headers["Location"]) == (303, "/demo?mode=launcher")
        page, third, _ = open_demo(client, "/demo?mode=launcher")
    assert third not in (first, second)
    assert 'data-mode="launcher"' in page


def test_demo_reset_is_off_unless_configured(app):
    assert app.test_client().post("/demo/reset").status_code == 404


def test_widget_js_weighs_under_20_kb_on_the_wire(app):
    client = app.test_client()
    zipped = client.get("/widget.js", headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert len(zipped.data) <= 20 * 1024
    assert gzip.decompress(zipped.data) == WIDGET_JS.read_bytes()
    plain = client.get("/widget.js")
    assert "Content-Encoding" not in plain.headers and plain.data == WIDGET_JS.read_bytes()
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    again = client.get("/widget.js", headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]})
    assert again.status_code == 304
