"""Badges, challenges and streaks built with the program builder's forms in headless Chromium.

Screenshots go to tests/artifacts/admin/ (30-…): each form as a marketer fills it in.
"""

from loyalty.engine import load_program
from tests.admin.conftest import text_of
from tests.admin.test_admin_tour import serious_problems
from tests.admin.test_program_builder_browser import open_builder
from tests.unit.test_program_builder import EVERY

THREE_KINDS = [{"sku": "latte", "category": "coffee", "quantity": 1, "unit_amount": 450},
               {"sku": "sencha", "category": "tea", "quantity": 1, "unit_amount": 400},
               {"sku": "croissant", "category": "pastry", "quantity": 1, "unit_amount": 350}]


def apply(form) -> None:
    form.get_by_role("button", name="Apply to the editor").click()


def photograph_form(page, form, path) -> None:
    """The whole form: the page is made tall enough for the builder's panel to hold it."""
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": 1400})
    form.screenshot(path=path)
    page.set_viewport_size(size)


def add_explorer_badge(page, artifacts) -> None:
    add = page.locator("[data-testid=add-badge]")
    add.locator("summary").click()
    add.locator("[name=name]").fill("Explorer")
    add.locator("[name=id]").fill("explorer")
    add.locator("[name=image]").fill("https://example.com/badges/explorer.png")
    add.locator("[name=description]").fill("Three kinds in a month")
    photograph_form(page, add.locator("form"), artifacts / "30-builder-new-badge.png")
    apply(add.locator("form"))
    page.locator("[data-testid=builder-badges] li[data-badge=explorer]").wait_for()


def test_a_badge_a_challenge_and_a_tier_badge_built_with_forms_read_in_words_publish_and_award(
        live_server, page, admin_key, api, artifacts):
    before = api.enroll(external_id="browser-explorer-before")["id"]
    api.purchase(before, 1200, items=THREE_KINDS)  # replayed by the impact through the new challenge
    open_builder(page, live_server, admin_key)
    add_explorer_badge(page, artifacts)
    assert "Explorer · not awarded by anything yet" in page.text_content(
        "[data-testid=builder-badges] li[data-badge=explorer] summary")

    add = page.locator("[data-testid=add-challenge]")
    add.locator("summary").click()
    form = add.locator("form")
    form.locator("[name=name]").fill("Three kinds a month")
    form.locator("[name=id]").fill("three-kinds")
    form.locator("[name=goal]").select_option("distinct_categories")
    assert form.locator("[name=goal_count]").is_hidden() and form.locator("[name=goal_amount]").is_hidden()
    form.locator("[name=goal_categories]").fill("3")
    form.locator("[name=within]").select_option("calendar_month")
    assert form.locator("[name=within_days]").is_hidden(), "a calendar month needs no number of days"
    form.locator("[name=award]").select_option("badge")
    assert form.locator("[name=points]").is_hidden()
    form.locator("[name=badge]").select_option("explorer")
    photograph_form(page, form, artifacts / "31-builder-new-challenge.png")
    apply(form)

    summary = page.locator("[data-testid=builder-challenges] li[data-challenge=three-kinds] summary")
    summary.wait_for()
    assert summary.text_content().split() == (
        "Three kinds a month · 3 distinct categories in a calendar month → Explorer badge").split()
    assert "from Three kinds a month" in page.text_content(
        "[data-testid=builder-badges] li[data-badge=explorer] summary")
    changes = page.locator("[data-testid=changes] li")
    changes.nth(1).wait_for()
    assert changes.all_text_contents() == [
        "New badge Explorer: Explorer, image https://example.com/badges/explorer.png",
        "New challenge Three kinds a month: 3 distinct categories in a calendar month → Explorer badge"]
    impact = page.locator("[data-testid=impact] [data-testid=backtest-progress] tr[data-progress=three-kinds] td")
    impact.first.wait_for()
    assert [cell.split() for cell in impact.all_text_contents()] == [["Challenge", "three-kinds"], ["0"], ["1"]]
    page.locator("[data-testid=impact] [data-testid=backtest-progress]").screenshot(
        path=artifacts / "32-builder-challenge-impact.png")
    summary.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "32-builder-challenge-in-words.png")

    gold = page.locator("[data-testid=builder-tiers] li[data-tier=gold]")
    gold.locator("summary").click()
    gold.locator("[name=badge]").select_option(label="Explorer")
    gold.locator("[name=badge]").scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "36-builder-tier-badge.png")
    apply(gold.locator("form"))
    page.locator("[data-testid=builder-tiers] li[data-tier=gold] summary",
                 has_text="from 1,500 qualifying points, points × 1.5, gives the Explorer badge").wait_for()
    page.locator("[data-testid=changes] li", has_text="Tier Gold: reaching it gives the Explorer badge").wait_for()
    assert "from Three kinds a month, reaching Gold" in page.text_content(
        "[data-testid=builder-badges] li[data-badge=explorer] summary")

    page.click("#tab-yaml")
    yaml = page.evaluate("window.rulesEditor.getValue()")
    assert "    - {id: gold, name: Gold, qualifying_points: 1500, multiplier: 1.5, badge: explorer}\n" in yaml
    assert yaml.endswith("\nbadges:\n  - id: explorer\n    name: Explorer\n"
                         "    image: https://example.com/badges/explorer.png\n    description: Three kinds in a month\n"
                         "\nchallenges:\n  - id: three-kinds\n    name: Three kinds a month\n"
                         "    goal: {distinct_categories: 3}\n    within: calendar_month\n"
                         "    award: {badge: explorer}\n")
    page.fill("#note", "a challenge: three kinds a month")
    page.click("#publish")
    page.wait_for_selector(".flash")
    assert "Published version 2" in page.text_content(".flash")

    member = api.enroll(external_id="browser-explorer")["id"]
    bought = api.purchase(member, 1200, items=THREE_KINDS)
    assert [badge["id"] for badge in bought["member"]["badges"]] == ["explorer"]
    high_roller = api.enroll(external_id="browser-gold")["id"]
    upgraded = api.purchase(high_roller, 200000)
    assert upgraded["member"]["tier"]["id"] == "gold"
    assert [badge["id"] for badge in upgraded["member"]["badges"]] == ["explorer"]  # the tier's
    assert page.console_errors == []


def test_a_challenge_is_changed_and_removed_and_its_errors_stand_beside_their_fields(live_server, page, admin_key,
                                                                                   artifacts):
    open_builder(page, live_server, admin_key)
    add = page.locator("[data-testid=add-challenge]")
    add.locator("summary").click()
    form = add.locator("form")
    form.locator("[name=name]").fill("Big spender")
    form.locator("[name=id]").fill("big-spender")
    form.locator("[name=goal]").select_option("amount")
    form.locator("[name=within]").select_option("days")
    form.locator("[name=within_days]").fill("30")
    form.locator("[name=points]").fill("200")
    apply(form)  # no amount yet
    status = form.locator(".form-status.error")
    status.wait_for()
    assert "Amount, cents: required" in status.text_content()
    amount = form.locator("[name=goal_amount]")
    assert amount.get_attribute("aria-invalid") == "true"
    beside = form.locator("#" + amount.get_attribute("aria-describedby"))
    assert beside.text_content() == "required"
    assert beside.evaluate("(note, field) => note.previousElementSibling === field", amount.element_handle())
    assert "challenges:" not in page.evaluate("window.rulesEditor.getValue()")
    amount.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "33-builder-challenge-error.png")

    form.locator("[name=goal_amount]").fill("5000")
    form.locator("[name=item_values]").fill("coffee, tea")
    form.locator("[name=repeat]").check()
    apply(form)
    item = page.locator("[data-testid=builder-challenges] li[data-challenge=big-spender]")
    item.locator("summary", has_text="$50.00 spent on coffee or tea within 30 days → 200 points, "
                                     "again every 30 days at most").wait_for()

    item.locator("summary").click()
    item.locator("[name=goal_amount]").fill("7500")
    apply(item.locator("form"))
    item.locator("summary", has_text="$75.00 spent").wait_for()
    assert ("goal: {amount: 7500}" in page.evaluate("window.rulesEditor.getValue()"))

    item.get_by_role("button", name="Remove this challenge").click()
    page.wait_for_selector("[data-testid=builder-challenges] li[data-challenge=big-spender]", state="detached")
    assert "big-spender" not in page.evaluate("window.rulesEditor.getValue()")
    assert [error for error in page.console_errors if "422" not in error] == []  # the refused form's answer


def test_a_badge_still_awarded_cannot_go_and_the_forms_work_by_keyboard(live_server, page, admin_key, artifacts):
    open_builder(page, live_server, admin_key)
    add_explorer_badge(page, artifacts)
    add = page.locator("[data-testid=add-challenge]")
    add.locator("summary").focus()
    page.keyboard.press("Enter")  # opens the form
    add.locator("[name=name]").focus()
    page.keyboard.type("Regular")
    page.keyboard.press("Tab")
    page.keyboard.type("regular")
    add.locator("[name=goal_count]").focus()
    page.keyboard.type("3")
    add.locator("[name=award]").focus()
    page.keyboard.press("ArrowDown")  # points → a badge
    assert add.locator("[name=badge]").is_visible()
    add.locator("[name=description]").focus()
    page.keyboard.press("Enter")  # submits it, as any form
    page.locator("[data-testid=builder-challenges] li[data-challenge=regular] summary",
                 has_text="3 purchases in a calendar month → Explorer badge").wait_for()

    badge = page.locator("[data-testid=builder-badges] li[data-badge=explorer]")
    badge.locator("summary").click()
    badge.get_by_role("button", name="Remove this badge").click()
    status = badge.locator(".form-status.error")
    status.wait_for()
    assert "unknown badge 'explorer'" in status.text_content()
    assert "id: explorer" in page.evaluate("window.rulesEditor.getValue()")
    assert [error for error in page.console_errors if "422" not in error] == []  # the refused removal's answer


def test_a_streak_built_with_its_form_reads_in_words_and_publishes(live_server, page, admin_key, admin_api,
                                                                     artifacts):
    open_builder(page, live_server, admin_key)
    add = page.locator("[data-testid=add-streak]")
    add.locator("summary").click()
    form = add.locator("form")
    form.locator("[name=name]").fill("Weekly regular")
    form.locator("[name=id]").fill("weekly-regular")
    form.locator("[name=description]").fill("A coffee every week, three weeks in a row")
    form.locator("[name=period]").select_option("week")
    form.locator("[name=length]").fill("3")
    form.locator("[name=grace]").fill("1")
    form.locator("[name=item_values]").fill("coffee")
    form.locator("[name=min_amount]").fill("250")
    form.locator("[name=points]").fill("50")
    form.locator("[name=repeat]").check()
    photograph_form(page, form, artifacts / "34-builder-new-streak.png")
    apply(form)

    summary = page.locator("[data-testid=builder-streaks] li[data-streak=weekly-regular] summary")
    summary.wait_for()
    words = ("Weekly regular · a purchase with coffee of at least $2.50 every week, 3 weeks in a row "
             "(a gap of up to 1 week allowed) → 50 points, again for every 3 weeks more")
    assert summary.text_content().split() == words.split()
    changes = page.locator("[data-testid=changes] li")
    changes.first.wait_for()
    assert changes.all_text_contents() == ["New streak " + words.replace(" · ", ": ", 1)]
    summary.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "35-builder-streak-in-words.png")

    page.click("#tab-yaml")
    assert page.evaluate("window.rulesEditor.getValue()").endswith(
        "\nstreaks:\n  - id: weekly-regular\n    name: Weekly regular\n"
        "    description: A coffee every week, three weeks in a row\n    where: {category: coffee}\n"
        "    min_amount: 250\n    period: week\n    length: 3\n    grace: 1\n    award: {points: 50}\n"
        "    repeat: true\n")
    page.fill("#note", "a weekly streak")
    page.click("#publish")
    page.wait_for_selector(".flash")
    assert "Published version 2" in page.text_content(".flash")
    published = load_program(admin_api.get("/v1/rules").get_json()["yaml"]).streak("weekly-regular")
    assert (published.length, published.grace, published.min_amount, published.points) == (3, 1, 250, 50)
    assert page.console_errors == []


def test_the_forms_open_with_their_errors_have_no_serious_accessibility_problem(live_server, chromium, admin_key):
    context = chromium.new_context(viewport={"width": 1366, "height": 768}, bypass_csp=True)  # for axe-core
    page = context.new_page()
    try:
        open_builder(page, live_server, admin_key)
        for item in ("challenge", "streak", "badge"):
            add = page.locator(f"[data-testid=add-{item}]")
            add.locator("summary").click()
            add.locator("[name=name]").fill("Something")
            add.locator("[name=id]").fill("not an id")
            apply(add.locator("form"))
            add.locator(".field-error").first.wait_for()
        assert page.locator("[data-testid=builder-challenges] [aria-invalid=true]").count() >= 2
        assert serious_problems(page) == []
    finally:
        context.close()


def test_every_badge_challenge_and_streak_of_a_program_has_its_line_in_words(admin_web):
    response = admin_web.post("/admin/rules/builder", {"yaml": EVERY})
    assert response.status_code == 200
    page = text_of(response)
    for line in ("Three kinds a month · 3 distinct categories in a calendar month → Explorer badge",
                 "Big spender · €50.00 spent on coffee or tea within 30 days → 200 points, again every 30 days at most",
                 "Three reviews a year · review 3 times in a calendar year → Critic badge",
                 "Weekly regular · a purchase with coffee of at least €2.50 every week, 3 weeks in a row "
                 "(a gap of up to 1 week allowed) → 50 points, again for every 3 weeks more",
                 "Daily critic · review every day, 7 days in a row → Critic badge",
                 "Explorer · from Three kinds a month, Every month, reaching Max",
                 "Max · from 900 qualifying points, points × 2, gives the Explorer badge",
                 "+ Add a challenge", "+ Add a streak", "+ Add a badge"):
        assert line in page, line
