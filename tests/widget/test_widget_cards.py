"""Stamp cards in the widget, in a real browser: stamps drawn, counted in words, accessible."""

import pytest
from freezegun import freeze_time

from tests.widget.test_widget_browser import token_for

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="browser tests: the playwright package is not installed (make install)")
expect = sync_api.expect
LATTE = {"sku": "latte-l", "category": "coffee", "quantity": 1, "unit_amount": 450}


def coffees(api, days) -> str:
    with freeze_time("2026-11-30T17:00:00Z"):
        member = api.enroll(first_name="Ana")
        for n in days:
            api.purchase(member["id"], 450, items=[LATTE], occurred_at=f"2026-11-{n:02d}T17:00:00Z")
    return member["id"]


def test_the_coffee_card_shows_its_stamps(app, api, page, live_server, merchant, shoot, axe):
    member_id = coffees(api, range(1, 4))
    page.goto(merchant.page("/account", live_server, token_for(app, member_id)))
    card = page.locator('[data-card="coffee-card"]')
    expect(card).to_contain_text("Coffee card")
    expect(card).to_contain_text("3 of 9 stamps")
    stamps = card.get_by_role("img", name="Coffee card: 3 of 9 stamps")
    expect(stamps).to_be_visible()
    expect(card.locator(".stamp")).to_have_count(9)
    expect(card.locator(".stamp.on")).to_have_count(3)
    shoot(page, "three-stamps")
    assert axe(page) == []
    assert page.errors == []


def test_a_completed_card_says_where_the_reward_is(app, api, page, live_server, merchant, shoot):
    member_id = coffees(api, range(1, 10))
    page.goto(merchant.page("/account", live_server, token_for(app, member_id)))
    card = page.locator('[data-card="coffee-card"]')
    expect(card).to_contain_text("Complete: your reward is in My rewards · 1 completed")
    expect(card.locator(".stamp.on")).to_have_count(9)
    shoot(page, "completed")
