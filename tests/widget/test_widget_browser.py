"""The customer widget in a real browser: the demo page, redeeming, expired tokens, hostile CSS."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from loyalty import clock
from loyalty.services import widget_tokens

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="browser tests: the playwright package is not installed (make install)")
expect = sync_api.expect

CODE = re.compile(r"[A-Z2-9]{5}-[A-Z2-9]{5}")
HOSTILE_CSS = """
* { display: inline !important; font: 31px/3 serif !important; color: red !important;
    letter-spacing: .4em !important; text-transform: uppercase !important; float: left !important;
    position: static !important; box-sizing: content-box !important; }
div, section, button, p, li { width: 7px !important; height: 7px !important; overflow: hidden !important;
    border: 9px solid red !important; padding: 0 !important; margin: 0 !important; }
button { display: none !important; }
"""
GERMAN_MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
                 "Oktober", "November", "Dezember")


def shadow_focus(page, host="[data-loyalty-widget], #w") -> dict | None:
    return page.evaluate("""host => {
        const el = document.querySelector(host).shadowRoot.activeElement;
        return el && {tag: el.tagName, cls: el.className, text: el.textContent};
    }""", host)


def member(api, member_id) -> dict:
    return api.member(member_id)


def demo_member(api, page) -> dict:
    """The visitor's own demo member, as the demo page names it."""
    return member(api, page.locator("#loyalty").get_attribute("data-demo-member"))


def token_for(app, member_id, issued_at=None, ttl=timedelta(hours=1)) -> str:
    return widget_tokens.issue(app.config["SECRET_KEY"], member_id, issued_at or clock.now(), ttl).token


def spender(api, dollars=300, **fields) -> dict:
    """A member with 50 welcome points plus one purchase."""
    enrolled = api.enroll(**fields)
    api.purchase(enrolled["id"], dollars * 100)
    return member(api, enrolled["id"])


def test_demo_page_reads_the_balance_and_redeems_a_free_drink(page, live_server, api, shoot):
    page.goto(f"{live_server}/demo")
    balance = page.locator("[data-balance]")
    expect(balance).to_be_visible()
    ana = demo_member(api, page)
    before = ana["points"]["balance"]
    assert before >= 150
    expect(balance).to_have_text(f"{before:,} points")
    expect(page.get_by_text(f"{ana['tier']['next']['points_needed']} points to Gold")).to_be_visible()
    expect(page.get_by_role("progressbar", name="Progress to Gold")).to_be_visible()
    expect(page.get_by_text(ana["referral_code"], exact=True)).to_be_visible()
    shoot(page, "desktop")

    page.get_by_role("button", name="Redeem Any drink, any size for 150 points").click()
    expect(page.get_by_text("Redeem Any drink, any size for 150 points?")).to_be_visible()
    page.get_by_role("button", name="Yes, redeem").click()

    code = page.locator(".code")
    expect(code).to_have_text(CODE)
    assert shadow_focus(page)["cls"] == "code", "focus moves to the code after redeeming"
    assert float(code.evaluate("el => getComputedStyle(el).fontSize").removesuffix("px")) >= 28
    expect(balance).to_have_text(f"{before - 150:,} points")
    newest = page.locator(".activity li").first
    expect(newest).to_contain_text("Redeemed Any drink, any size")
    expect(newest).to_contain_text("-150")
    shown = code.inner_text()
    expect(page.locator("#merchant-log")).to_contain_text(f"redeemed free-drink, code {shown}")
    shoot(page, "desktop-redeemed")
    page.set_viewport_size({"width": 360, "height": 780})
    shoot(page, "360")

    issued = api.get(f"/v1/redemptions/{shown}").get_json()
    assert (issued["member_id"], issued["reward_id"], issued["status"]) == (ana["id"], "free-drink", "issued")
    assert member(api, ana["id"])["points"]["balance"] == before - 150
    assert page.errors == []


def api_calls(service) -> list[str]:
    return [call for call in service.requests if " /v1/" in call]


def test_first_render_takes_at_most_two_api_requests(page, service):
    page.goto(f"{service.origin}/demo")
    expect(page.locator("[data-balance]")).to_be_visible()
    expect(page.locator(".rewards li")).to_have_count(4)
    expect(page.locator(".activity li").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert api_calls(service) == ["GET /v1/me"]


def test_on_a_phone_it_fits_and_works_from_the_keyboard(open_page, live_server, shoot):
    page = open_page(viewport={"width": 360, "height": 780})
    page.goto(f"{live_server}/demo")
    expect(page.locator("[data-balance]")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "no sideways scrolling at 360 px"
    box = page.locator("#loyalty").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    # The demo page themes it: --loyalty-brand: #7a4b2a.
    assert page.locator("[data-balance]").evaluate("el => getComputedStyle(el).color") == "rgb(122, 75, 42)"

    page.get_by_role("button", name="Redeem Any drink, any size for 150 points").focus()
    page.keyboard.press("Enter")
    assert shadow_focus(page)["text"] == "Yes, redeem"
    page.keyboard.press("Enter")
    expect(page.locator(".code")).to_have_text(CODE)
    assert shadow_focus(page)["cls"] == "code"
    expect(page.get_by_role("region", name=re.compile("Your code"))).to_be_visible()
    shoot(page, "360")


def test_an_expired_token_asks_to_sign_in_again_and_a_fresh_one_recovers(app, api, page, live_server, merchant, shoot):
    ana = spender(api, 300)
    expired = token_for(app, ana["id"], issued_at=clock.now() - timedelta(hours=2))
    url = merchant.page("/account", live_server, expired, body="""<script>
        window.signIns = 0;
        document.getElementById('w').addEventListener('loyalty:unauthorized', () => window.signIns++);
    </script>""")
    page.goto(url)
    prompt = page.get_by_role("alert")
    expect(prompt).to_have_text("Your session has ended. Please sign in again.")
    assert page.evaluate("window.signIns") == 1
    expect(page.locator("[data-balance]")).to_have_count(0)
    shoot(page, "desktop")

    page.evaluate("token => LoyaltyWidget.get('#w').setToken(token)", token_for(app, ana["id"]))
    expect(page.locator("[data-balance]")).to_have_text(f"{ana['points']['balance']} points")
    assert page.errors == []


def test_hostile_merchant_css_cannot_break_the_widget(app, api, page, service, live_server, merchant, shoot):
    ana = spender(api, 300)
    page.goto(merchant.page("/hostile", live_server, token_for(app, ana["id"]), css=HOSTILE_CSS))
    balance = page.locator("[data-balance]")
    expect(balance).to_have_text("350 points")
    shoot(page, "desktop")
    page.wait_for_load_state("networkidle")
    # Cross-origin, the first render is the preflight and one GET.
    assert api_calls(service) == ["OPTIONS /v1/me", "GET /v1/me"]
    style = balance.evaluate("el => { const s = getComputedStyle(el); return [s.display, s.fontSize, s.color]; }")
    assert style[:2] == ["block", "36px"] and style[2] != "rgb(255, 0, 0)"
    widget, title = page.locator("#w").bounding_box(), page.locator("#shop-title").bounding_box()
    assert widget["width"] >= 320
    assert widget["y"] >= title["y"] + title["height"], "the page's floats do not flow into the widget"
    redeem = page.get_by_role("button", name="Redeem Any drink, any size for 150 points")
    expect(redeem).to_be_visible()
    assert redeem.bounding_box()["height"] >= 40
    # ... nor does the widget touch the merchant's page: no styles added, the title keeps its hostile look.
    assert page.evaluate("document.querySelectorAll('style, link[rel=stylesheet]').length") == 1
    assert page.locator("#shop-title").evaluate("el => getComputedStyle(el).fontSize") == "31px"

    # Cross-origin, with a preflight, from the allowed merchant origin: redeeming works here too.
    redeem.click()
    page.get_by_role("button", name="Yes, redeem").click()
    expect(page.locator(".code")).to_have_text(CODE)
    expect(balance).to_have_text("200 points")
    page.set_viewport_size({"width": 360, "height": 780})
    shoot(page, "360")
    assert page.errors == []


def test_an_origin_not_in_the_allowed_list_gets_nothing(app, api, page, live_server, merchant):
    app.config["WIDGET_ALLOWED_ORIGINS"] = "https://shop.example.com"
    ana = spender(api, 300)
    page.goto(merchant.page("/elsewhere", live_server, token_for(app, ana["id"])))
    expect(page.get_by_role("alert")).to_have_text("Something went wrong loading your points.")
    expect(page.get_by_role("button", name="Try again")).to_be_visible()
    expect(page.locator("[data-balance]")).to_have_count(0)


def test_js_api_mount_refresh_and_events(app, api, page, live_server, merchant):
    ana = spender(api, 300)
    url = merchant.page("/manual", live_server, "", auto=False, body=f"""<script>
        window.loaded = 0;
        document.addEventListener('DOMContentLoaded', () => {{
            window.widget = LoyaltyWidget.mount(document.getElementById('w'),
                {{token: '{token_for(app, ana["id"])}', apiBase: '{live_server}'}});
            window.widget.on('loaded', me => {{ window.loaded++; window.seen = me.points.balance; }});
        }});
    </script>""")
    page.goto(url)
    expect(page.locator("[data-balance]")).to_have_text("350 points")
    spent = api.post(f"/v1/members/{ana['id']}/redemptions", {"reward_id": "free-drink"})
    assert spent.status_code == 201
    page.evaluate("LoyaltyWidget.refresh()")
    expect(page.locator("[data-balance]")).to_have_text("200 points")
    expect(page.locator(".activity li").first).to_contain_text("Redeemed Any drink, any size")
    assert page.evaluate("[window.loaded, window.seen]") == [2, 200]


def test_expiring_points_show_their_dates_in_the_customers_locale(app, api, request):
    with freeze_time(clock.now() - timedelta(days=340)):
        ana = spender(api, 120)
    soon = member(api, ana["id"])["points"]["expiring_soon"]
    assert [lot["points"] for lot in soon] == [170]
    page = request.getfixturevalue("open_page")(locale="de-DE", timezone_id="Europe/Berlin")
    live_server = request.getfixturevalue("live_server")
    merchant = request.getfixturevalue("merchant")
    page.goto(merchant.page("/de", live_server, token_for(app, ana["id"])))
    expires = datetime.fromisoformat(soon[0]["expires_at"].replace("Z", "+00:00")).astimezone(ZoneInfo("Europe/Berlin"))
    german = f"{expires.day}. {GERMAN_MONTHS[expires.month - 1]} {expires.year}"
    expect(page.get_by_text(f"170 points expire on {german}")).to_be_visible()
    request.getfixturevalue("shoot")(page, "desktop")
