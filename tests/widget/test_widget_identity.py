"""A customer's activity after a merge and a transfer: in plain words, in /v1/me and in the widget."""

import uuid
from pathlib import Path

import pytest

from tests.widget.test_widget_browser import token_for

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="browser tests: the playwright package is not installed (make install)")
expect = sync_api.expect
DEMO_YAML = (Path(__file__).resolve().parents[2] / "rules" / "program.yaml").read_text()


def merged_and_gave(app, api, admin_api) -> tuple[dict, dict]:
    """Ana's web account merged into her till account, then 30 points given to Ben with a note."""
    published = admin_api.client.put("/v1/rules", json={"yaml": DEMO_YAML + "\ntransfers: {enabled: true}\n",
                                                         "note": "transfers"},
                                     headers=admin_api.headers(idempotency_key=False))
    assert published.status_code == 201
    ana, web, ben = api.enroll(), api.enroll(), api.enroll()
    api.purchase(web["id"], 2_000)
    assert admin_api.post(f"/v1/members/{ana['id']}/merge", {"member_id": web["id"]}).status_code == 200
    given = api.post(f"/v1/members/{ana['id']}/transfers",
                     {"to_member_id": ben["id"], "points": 30, "note": "for your birthday"})
    assert given.status_code == 201, given.get_json()
    return ana, ben


def activity(app, client, member_id) -> list[dict]:
    response = client.get("/v1/me/transactions",
                          headers={"Authorization": f"Bearer {token_for(app, member_id)}"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def test_my_activity_says_points_moved_from_my_other_account_and_who_gave_what(app, api, admin_api):
    ana, ben = merged_and_gave(app, api, admin_api)
    client = app.test_client()
    mine = [(row["type"], row["points"], row["description"], row["detail"]) for row in activity(app, client, ana["id"])]
    assert mine[:2] == [("transfer", -30, "Points given to another member", "for your birthday"),
                        ("merge", 70, "Points moved from your other account", None)]
    theirs = activity(app, client, ben["id"])[0]
    assert (theirs["type"], theirs["points"], theirs["description"], theirs["detail"]) == (
        "transfer", 30, "Points received from another member", "for your birthday")
    assert "actor" not in theirs


def test_the_widget_shows_them_in_plain_words(app, api, admin_api, page, live_server, merchant, shoot):
    ana, _ = merged_and_gave(app, api, admin_api)
    page.goto(merchant.page(f"/account-{uuid.uuid4().hex[:6]}", live_server, token_for(app, ana["id"])))
    expect(page.locator("[data-balance]")).to_have_text(f"{50 + 70 - 30} points")
    widget = page.locator("#w")
    expect(widget).to_contain_text("Points moved from your other account")
    expect(widget).to_contain_text("Points given to another member")
    shoot(page, "desktop")
    assert page.errors == []
