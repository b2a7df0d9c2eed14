"""Every /admin page a marketer uses, on a laptop screen, with real data: each is checked by axe-core
for serious accessibility problems and photographed.

The pictures in docs/images/admin-*.png come from this test:
``LOYALTY_DOC_IMAGES=docs/images .venv/bin/pytest tests/admin/test_admin_tour.py``.
"""

import os
import shutil
from pathlib import Path

import pytest

from tests.admin.test_admin_browser import sign_in

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "node_modules" / "axe-core" / "axe.min.js"
COFFEE = [{"sku": "latte-l", "category": "coffee", "quantity": 2, "unit_amount": 450}]


@pytest.fixture
def laptop(chromium):
    """A 1366×768 page; CSP is bypassed only so that axe-core can be injected."""
    context = chromium.new_context(viewport={"width": 1366, "height": 768}, bypass_csp=True)
    page = context.new_page()
    page.console_errors = []
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    context.close()


def serious_problems(page) -> list:
    if not AXE.is_file():
        pytest.skip("axe-core is not installed: run `make test` (it runs `npm ci` in tests/)")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => [v.id, v.impact, v.nodes.slice(0, 3).map(n => n.target)]);
    }""")
    return [violation for violation in found if violation[1] in ("serious", "critical")]


def photograph(page, artifacts: Path, name: str, full_page: bool = False) -> None:
    path = artifacts / f"admin-{name}.png"
    page.screenshot(path=path, full_page=full_page)
    target = os.environ.get("LOYALTY_DOC_IMAGES")
    if target:
        shutil.copy(path, ROOT / target / path.name)


def seed(api) -> str:
    ana = api.enroll(external_id="pos-ana", first_name="Ana", last_name="López", email="ana@example.com")["id"]
    for amount in (1850, 2400, 950, 60000):
        api.purchase(ana, amount, items=COFFEE)
    api.post("/v1/events", {"type": "review", "member_id": ana, "source_id": "ana-review"}, idempotency_key="r1")
    api.post(f"/v1/members/{ana}/redemptions", {"reward_id": "free-drink"}, idempotency_key="redeem-1")
    for name in ("ben", "chloe", "dev"):
        member = api.enroll(external_id=f"pos-{name}", first_name=name.title())["id"]
        api.purchase(member, 1200)
    return ana


def build_a_challenge(page, artifacts: Path) -> None:
    """A challenge added with its form, open below its line in words; then removed, as it came."""
    add = page.locator("[data-testid=add-challenge]")
    add.locator("summary").click()
    add.locator("[name=name]").fill("Three kinds a month")
    add.locator("[name=id]").fill("three-kinds")
    add.locator("[name=description]").fill("Coffee, tea and a pastry in one month")
    add.locator("[name=goal]").select_option("distinct_categories")
    add.locator("[name=goal_categories]").fill("3")
    add.locator("[name=points]").fill("100")
    add.get_by_role("button", name="Apply to the editor").click()
    challenge = page.locator("[data-testid=builder-challenges] li[data-challenge=three-kinds]")
    challenge.locator("summary", has_text="3 distinct categories in a calendar month → 100 points").wait_for()
    challenge.locator("summary").click()
    page.locator("[data-testid=changes] li", has_text="New challenge Three kinds a month").wait_for()
    page.wait_for_selector("[data-testid=impact] [data-testid=backtest-difference]")
    page.locator("[data-testid=builder-challenges] h2").evaluate("""heading => {
        const panel = document.getElementById("builder-panel");
        panel.scrollTop += heading.getBoundingClientRect().top - panel.getBoundingClientRect().top;
    }""")
    assert serious_problems(page) == []
    photograph(page, artifacts, "builder-challenge")
    challenge.get_by_role("button", name="Remove this challenge").click()
    challenge.wait_for(state="detached")


def test_every_admin_page_is_clear_accessible_and_photographed(live_server, laptop, admin_key, api, artifacts):
    page = laptop
    ana = seed(api)
    sign_in(page, live_server, admin_key, "/admin/")
    page.wait_for_selector("svg.chart")
    assert serious_problems(page) == []
    photograph(page, artifacts, "dashboard", full_page=True)

    page.goto(live_server + "/admin/rules")
    page.wait_for_selector("[data-testid=builder-rules] li[data-rule=coffee-bonus]")
    coffee = page.locator("[data-testid=builder-rules] li[data-rule=coffee-bonus]")
    coffee.locator("summary").click()
    coffee.locator("[name=points_per_dollar]").fill("2")
    coffee.get_by_role("button", name="Apply to the editor").click()
    page.wait_for_selector("[data-testid=impact] [data-testid=backtest-difference]")
    coffee.locator("summary").scroll_into_view_if_needed()
    assert serious_problems(page) == []
    photograph(page, artifacts, "builder")
    build_a_challenge(page, artifacts)

    page.click("#tab-yaml")
    page.wait_for_selector(".CodeMirror")
    photograph(page, artifacts, "yaml")

    page.fill("#note", "coffee: double the bonus")
    page.click("#publish")
    page.wait_for_selector(".flash")
    page.click("[data-testid=activate-1]")
    page.wait_for_selector("[data-testid=rollback-impact]")
    assert serious_problems(page) == []
    photograph(page, artifacts, "rollback", full_page=True)

    for path, ready, name in (("/admin/rewards", "[data-testid=rewards]", "rewards"),
                              ("/admin/members?q=lopez", f"a[href$='{ana}']", "members"),
                              (f"/admin/members/{ana}", "[data-testid=ledger], table", "member"),
                              ("/admin/audit", "table", "audit")):
        page.goto(live_server + path)
        page.wait_for_selector(ready)
        assert serious_problems(page) == [], path
        photograph(page, artifacts, name, full_page=True)
    assert page.console_errors == []
