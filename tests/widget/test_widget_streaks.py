"""Streaks in the widget, in a real browser: periods in a row in words, the deadline, accessible."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from loyalty.engine.streaks import StreakState, ends_after, period_start
from tests.unit.test_engine_streaks import TEXT, WEEKLY
from tests.widget.test_widget_browser import token_for

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="browser tests: the playwright package is not installed (make install)")
expect = sync_api.expect
NEW_YORK = ZoneInfo("America/New_York")  # the demo program's days


def test_a_weekly_streak_shows_two_of_three_weeks_and_its_deadline(app, api, admin_api, page, live_server,
                                                                   merchant, shoot, axe):
    admin_api.publish_rules(TEXT, "streaks")
    member = api.enroll(first_name="Ana")
    now = datetime.now(UTC) - timedelta(minutes=1)
    for moment in (now - timedelta(days=7), now):  # this week and the one before, as the widget reads it now
        api.purchase(member["id"], 450, items=[{"sku": "x", "category": "coffee", "quantity": 1, "unit_amount": 450}],
                     occurred_at=moment.isoformat().replace("+00:00", "Z"))
    deadline = ends_after(WEEKLY, StreakState(2, 2, 2, 0, period_start("week", now.astimezone(NEW_YORK).date())))
    page.goto(merchant.page("/account", live_server, token_for(app, member["id"])))
    weekly = page.locator('[data-streak="weekly-regular"]')
    expect(weekly).to_contain_text("Weekly regular")
    expect(weekly).to_contain_text("2 of 3 weeks in a row")
    expect(weekly.get_by_role("progressbar", name="Weekly regular: 2 of 3 weeks in a row")).to_have_attribute(
        "aria-valuenow", "67")
    expect(weekly).to_contain_text(f"Keep it going by {deadline:%B} {deadline.day}, {deadline.year}")
    shoot(page, "weekly-streak")
    assert axe(page) == []
    assert page.errors == []
