"""What a member looks for in the widget, inline and as a launcher: ways to earn, their codes, what
expires next, tiers by name, sharing the referral link; by keyboard alone, and clean under axe-core."""

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.widget.conftest import ARTIFACTS
from tests.widget.test_widget_browser import CODE, demo_member, spender, token_for

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="browser tests: the playwright package is not installed (make install)")
expect = sync_api.expect

FOCUS = """() => {
    const root = document.querySelector('#loyalty').shadowRoot, el = root.activeElement;
    const dialog = root.querySelector('.dlg');
    return el && {label: el.getAttribute('aria-label') || el.textContent, cls: el.className,
                  inDialog: !!dialog && dialog.contains(el)};
}"""


def widget_me(app, member_id: str) -> dict:
    """/v1/me as the member's widget reads it."""
    return app.test_client().get("/v1/me", headers={"Authorization": f"Bearer {token_for(app, member_id)}"}).get_json()


def on_the_page(date_text: str) -> str:
    """An API timestamp as the widget shows it to a customer in New York, in US English."""
    day = datetime.fromisoformat(date_text.replace("Z", "+00:00")).astimezone(ZoneInfo("America/New_York"))
    return f"{day:%B} {day.day}, {day.year}"


def open_demo(page, live_server, mode: str):
    page.goto(f"{live_server}/demo" + ("?mode=launcher" if mode == "launcher" else ""))
    if mode == "launcher":
        launcher = page.get_by_role("button", name=re.compile("^Open your rewards"))
        expect(launcher).to_be_visible()
        launcher.click()
        expect(page.get_by_role("dialog")).to_be_visible()
    expect(page.locator("[data-balance]")).to_be_visible()


@pytest.mark.parametrize("mode", ["inline", "launcher"])
def test_a_member_sees_how_to_earn_redeems_and_finds_the_code_again_under_my_rewards(app, page, live_server, api,
                                                                                       shoot, mode):
    open_demo(page, live_server, mode)
    ana = demo_member(api, page)
    me = api.get(f"/v1/members/{ana['id']}").get_json()
    review = page.locator('[data-way="review"]')
    expect(review).to_contain_text("25 points")
    expect(review).to_contain_text("left this month")
    ways = {way["rule_id"]: way for way in widget_me(app, ana["id"])["ways_to_earn"]}
    assert ways["spend"]["points_per_dollar"] == 1.25  # Silver
    expect(page.locator('[data-way="spend"]')).to_contain_text("1.25 points per $1 spent")
    if ways.get("holiday-double"):  # the demo's campaign, shown with its days until it has ended
        expect(page.locator('[data-way="holiday-double"]')).to_contain_text(
            "Double points over the holidays" "December 20, 2026 to December 26, 2026")
    soonest = me["points"]["expiring_soon"][0]
    expect(page.locator(".next-expiry")).to_have_text(
        f"{soonest['points']} points expire on {on_the_page(soonest['expires_at'])}")
    expect(page.locator(".held")).to_have_text(f"Silver is yours until {on_the_page(me['tier']['expires_at'])}")
    tumbler = page.locator('[data-reward="gold-tumbler"]')
    expect(tumbler).to_contain_text("Only for Gold members.")
    shoot(page, f"{mode}-ways-to-earn")
    page.locator("section.w").screenshot(path=str(ARTIFACTS / f"widget-{mode}.png"))  # the panel alone, for docs/

    page.get_by_role("button", name="Redeem Any drink, any size for 150 points").click()
    page.get_by_role("button", name="Yes, redeem").click()
    code = page.locator(".code")
    expect(code).to_have_text(CODE)
    shown = code.inner_text()
    if mode == "launcher":
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog")).to_be_hidden()
        page.get_by_role("button", name=re.compile("^Open your rewards")).click()
    else:
        page.get_by_role("button", name="Done").click()
        expect(code).to_have_count(0)
        page.reload()  # the visitor comes back later: the code is still theirs to find
        expect(page.locator("[data-balance]")).to_be_visible()
    expect(code).to_have_count(0)
    mine = page.locator(".mine li").first
    expect(mine).to_contain_text(shown)
    expect(mine).to_contain_text("Any drink, any size")
    expect(mine).to_contain_text("Unused")
    expect(page.get_by_role("button", name=f"Copy code {shown}")).to_be_visible()
    shoot(page, f"{mode}-my-rewards")
    if mode == "launcher":
        page.screenshot(path=str(ARTIFACTS / "widget-launcher-open.png"))
    page.set_viewport_size({"width": 360, "height": 780})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shoot(page, f"{mode}-360")
    assert page.errors == []


def test_the_launcher_redeems_by_keyboard_alone_and_keeps_focus_inside(page, live_server):
    page.goto(f"{live_server}/demo?mode=launcher")
    launcher = page.get_by_role("button", name=re.compile("^Open your rewards"))
    expect(launcher).to_be_visible()
    launcher.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()
    assert page.evaluate(FOCUS)["label"] == "Close"
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS)
        assert focused and focused["inDialog"], "Tab never leaves the open dialog"
        if focused["label"] == "Redeem Any drink, any size for 150 points":
            break
    else:
        pytest.fail("Tab never reached the free drink's Redeem button")
    page.keyboard.press("Enter")
    assert page.evaluate(FOCUS)["label"] == "Yes, redeem"
    page.keyboard.press("Enter")
    expect(page.locator(".code")).to_have_text(CODE)
    assert page.evaluate(FOCUS)["cls"] == "code"
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUS)["inDialog"]
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert page.evaluate(FOCUS)["cls"] == "launch", "closing gives focus back to the launcher"
    assert page.errors == []


@pytest.mark.parametrize("mode", ["inline", "launcher"])
def test_axe_finds_no_serious_or_critical_violation(page, live_server, axe, mode):
    open_demo(page, live_server, mode)
    assert axe(page) == []
    page.get_by_role("button", name="Redeem Any drink, any size for 150 points").click()
    expect(page.get_by_role("button", name="Yes, redeem")).to_be_visible()
    assert axe(page) == []


def test_strings_locale_and_theme_are_passed_in_by_data_attributes(app, api, page, live_server, merchant, shoot):
    ana = spender(api, 300)
    strings = json.dumps({"earn": "Punkte sammeln", "points": "Punkte", "rewards": "Prämien",
                          "periods": {"calendar_month": "diesen Monat"}})
    attrs = (f"data-locale=\"de-DE\" data-strings='{strings}' data-brand=\"#004488\" "
             f"data-radius=\"4px\"")
    page.goto(merchant.page("/de", live_server, token_for(app, ana["id"]), attrs=attrs))
    expect(page.locator("[data-balance]")).to_have_text("350 Punkte")
    expect(page.get_by_role("heading", name="Punkte sammeln")).to_be_visible()
    expect(page.get_by_role("heading", name="Prämien")).to_be_visible()
    expect(page.locator('[data-way="review"]')).to_contain_text("diesen Monat")
    expect(page.get_by_role("heading", name="Recent activity")).to_be_visible()  # not passed: English
    assert page.locator("[data-balance]").evaluate("el => getComputedStyle(el).color") == "rgb(0, 68, 136)"
    shoot(page, "de")


def test_the_referral_link_is_shared_where_the_browser_can_and_copied_elsewhere(app, api, open_page, live_server,
                                                                                merchant):
    ana = spender(api, 300)
    url = merchant.page("/share", live_server, token_for(app, ana["id"]),
                        attrs='data-referral-url="https://shop.example.com/join?ref={code}"')
    sharing = open_page()
    sharing.add_init_script("navigator.share = data => { window.shared = data; return Promise.resolve(); };")
    sharing.goto(url)
    sharing.get_by_role("button", name="Share your invite link").click()
    shared = sharing.evaluate("window.shared")
    assert shared["url"] == f"https://shop.example.com/join?ref={ana['referral_code']}"
    expect(sharing.get_by_text("you get 500 points when a friend makes a first purchase")).to_be_visible()

    copying = open_page()
    copying.goto(url)
    copy = copying.get_by_role("button", name="Share your invite link")
    expect(copy).to_have_text("Copy")
    copy.click()
    expect(copying.get_by_text("Link copied")).to_be_visible()
