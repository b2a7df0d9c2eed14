"""Challenges as progress bars and badges in the widget, in a real browser, with axe."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.test_engine_challenges import TEXT
from tests.widget.test_widget_browser import token_for

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="browser tests: the playwright package is not installed (make install)")
expect = sync_api.expect


def test_challenges_show_as_progress_and_badges_by_name(app, api, admin_api, page, live_server, merchant, shoot,
                                                        axe):
    published = admin_api.client.put("/v1/rules", json={"yaml": TEXT, "note": "challenges"},
                                     headers=admin_api.headers(idempotency_key=False))
    assert published.status_code == 201, published.get_json()
    member = api.enroll(first_name="Ana")
    for minutes, category in ((2, "coffee"), (1, "tea")):  # this month, as the widget reads it now
        moment = (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
        api.purchase(member["id"], 450, items=[{"sku": "x", "category": category, "quantity": 1,
                                                "unit_amount": 450}], occurred_at=moment)
    page.goto(merchant.page("/account", live_server, token_for(app, member["id"])))
    kinds = page.locator('[data-challenge="three-kinds"]')
    expect(kinds).to_contain_text("Three kinds a month")
    expect(kinds.get_by_role("progressbar", name="Three kinds a month: 2 of 3")).to_have_attribute(
        "aria-valuenow", "67")
    expect(kinds).to_contain_text("2 of 3 categories")
    expect(page.locator('[data-challenge="big-month"]')).to_contain_text("$4.50 of $50.00 spent")
    shoot(page, "challenges")
    assert axe(page) == []
    assert page.errors == []
