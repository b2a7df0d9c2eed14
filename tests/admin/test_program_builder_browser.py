"""The program builder in headless Chromium: a marketer builds with forms only, never touching the YAML.

Screenshots go to tests/artifacts/admin/; `docs/images/admin-*.png` are taken from these runs.
"""

from tests.admin.test_admin_browser import select_in_editor, sign_in
from tests.conftest import awarded_by_rule

TEA = [{"sku": "sencha", "category": "tea", "quantity": 2, "unit_amount": 400}]


def open_builder(page, base, key):
    page.set_viewport_size({"width": 1366, "height": 768})  # a laptop
    sign_in(page, base, key)
    page.wait_for_selector("[data-testid=builder-rules] li[data-rule=spend]")
    page.wait_for_selector("#problems .ok")


def test_a_new_way_to_earn_built_with_forms_shows_its_impact_publishes_and_earns(live_server, page, admin_key,
                                                                              api, artifacts):
    tea_drinker = api.enroll(external_id="browser-tea")["id"]
    assert awarded_by_rule(api.purchase(tea_drinker, 800, items=TEA)) == {"spend": 8}
    open_builder(page, live_server, admin_key)
    page.screenshot(path=artifacts / "20-builder.png")

    add = page.locator("[data-testid=add-rule]")
    add.locator("summary").click()
    form = add.locator("form")
    form.locator("[name=description]").fill("Double points on tea")
    form.locator("[name=id]").fill("tea-bonus")
    form.locator("[name=on]").fill("purchase")
    form.locator("[name=award]").select_option("items")
    assert form.locator("[name=points]").is_hidden(), "fixed points do not apply to a rate"
    form.locator("[name=points_per_dollar]").fill("1")
    form.locator("[name=item_values]").fill("tea")
    form.locator("[name=multiply_by_tier]").check()
    form.locator("[name=limit_count]").fill("2")
    form.locator("[name=limit_per]").select_option("day")
    page.screenshot(path=artifacts / "21-builder-new-rule.png")
    form.get_by_role("button", name="Apply to the editor").click()

    page.wait_for_selector("[data-testid=applied]")
    assert page.locator("[data-testid=builder-rules] li[data-rule=tea-bonus]").count() == 1
    changes = page.locator("[data-testid=changes] li")
    changes.first.wait_for()
    assert changes.all_text_contents() == ["New rule tea-bonus: 1 point per $1 on tea for purchase, 2 per day"]
    impact = page.wait_for_selector("[data-testid=impact] [data-testid=backtest-difference]")
    assert impact.text_content().strip() == "+8"  # the tea bought above, replayed through the new rule
    page.screenshot(path=artifacts / "22-builder-impact.png")

    page.click("#tab-yaml")
    yaml = page.evaluate("window.rulesEditor.getValue()")
    assert ("  - id: tea-bonus\n    description: Double points on tea\n    on: purchase\n"
            "    award: {points_per_dollar: 1, of: items, where: {category: tea}}\n"
            "    multiply_by_tier: true\n    limit: {count: 2, per: day}\n") in yaml
    assert "# The reward catalog." in yaml  # the comments around it stay

    page.fill("#note", "tea: double points")
    page.click("#publish")
    page.wait_for_selector(".flash")
    assert "Published version 2" in page.text_content(".flash")
    later = api.purchase(tea_drinker, 800, items=TEA)
    assert awarded_by_rule(later) == {"spend": 8, "tea-bonus": 8}
    assert page.console_errors == []


def test_a_form_says_what_is_wrong_beside_it_and_writes_nothing(live_server, page, admin_key, artifacts):
    open_builder(page, live_server, admin_key)
    before = page.evaluate("window.rulesEditor.getValue()")
    review = page.locator("[data-testid=builder-rules] li[data-rule=review]")
    review.locator("summary").click()
    review.locator("[name=on]").fill("reveiw")
    review.locator("[name=points]").fill("")
    review.get_by_role("button", name="Apply to the editor").click()
    status = review.locator(".form-status.error")
    status.wait_for()
    assert "Points: required" in status.text_content()
    assert review.locator("[name=points]").get_attribute("aria-invalid") == "true"
    assert page.evaluate("window.rulesEditor.getValue()") == before
    page.screenshot(path=artifacts / "23-builder-form-error.png")


def test_rewards_tiers_and_expiry_change_through_their_forms(live_server, page, admin_key, api, artifacts):
    open_builder(page, live_server, admin_key)
    add = page.locator("[data-testid=builder-rewards] li.add")
    add.locator("summary").click()
    add.locator("[name=name]").fill("Free pastry")
    add.locator("[name=id]").fill("free-pastry")
    add.locator("[name=points_cost]").fill("120")
    add.locator("[name=type]").select_option("free_item")
    add.locator("[name=stock]").fill("40")
    add.get_by_role("button", name="Apply to the editor").click()
    page.wait_for_selector("[data-testid=applied]")
    assert "Free pastry · 120 points · Free item · stock 40" in page.text_content(
        "[data-testid=builder-rewards] li[data-reward=free-pastry] summary")

    tumbler = page.locator("[data-testid=builder-rewards] li[data-reward=gold-tumbler]")
    tumbler.locator("summary").click()
    tumbler.get_by_role("button", name="Remove this reward").click()
    page.wait_for_selector("[data-testid=builder-rewards] li[data-reward=gold-tumbler]", state="detached")

    silver = page.locator("[data-testid=builder-tiers] li[data-tier=silver]")
    silver.locator("summary").click()
    silver.locator("[name=qualifying_points]").fill("400")
    silver.get_by_role("button", name="Apply to the editor").click()
    page.wait_for_selector("[data-testid=builder-tiers] li[data-tier=silver] >> text=from 400 qualifying points")

    settings = page.locator("[data-testid=builder-settings]")
    settings.locator("summary", has_text="Points expire").click()
    settings.locator("[name=end_of]").select_option("quarter")
    settings.locator("form[data-section=expiry]").get_by_role("button", name="Apply to the editor").click()
    page.wait_for_selector("[data-testid=builder-settings] >> text=at the end of that quarter")

    changes = page.locator("[data-testid=changes] li")
    changes.nth(3).wait_for()
    assert set(changes.all_text_contents()) >= {"Tier Silver: 500 → 400 qualifying points",
                                                "New reward Free pastry: 120 points",
                                                "Reward Gold tumbler removed from the catalog",
                                                "Points expiry changed (for points earned from now on)"}
    page.screenshot(path=artifacts / "24-builder-rewards-tiers.png")
    page.fill("#note", "pastry in, tumbler out, silver at 400, expiry by quarter")
    page.click("#publish")
    page.wait_for_selector(".flash")
    catalog = api.get("/v1/rewards").get_json()
    rewards = {reward["id"]: reward for reward in catalog.get("data", catalog if isinstance(catalog, list) else [])}
    assert "free-pastry" in rewards and "gold-tumbler" not in rewards
    assert page.console_errors == []


def test_a_yaml_edit_shows_in_the_forms_and_the_forms_work_by_keyboard(live_server, page, admin_key):
    open_builder(page, live_server, admin_key)
    select_in_editor(page, "award: {points: 25}", "25")
    page.keyboard.type("40")
    page.wait_for_selector("[data-testid=changes] li")
    page.click("#tab-builder")
    review = page.locator("[data-testid=builder-rules] li[data-rule=review]")
    review.locator("summary", has_text="40 points").wait_for()
    assert review.locator("[name=points]").input_value() == "40"

    review.locator("summary").focus()
    page.keyboard.press("Enter")  # opens the form
    points = review.locator("[name=points]")
    points.focus()
    page.keyboard.press("Control+a")
    page.keyboard.type("45")
    page.keyboard.press("Enter")  # submits it, as any form
    page.locator("[data-testid=builder-rules] li[data-rule=review] summary", has_text="45 points").wait_for()
    assert "award: {points: 45}" in page.evaluate("window.rulesEditor.getValue()")
    assert page.console_errors == []


def test_a_stamp_card_is_added_with_its_form_and_stamps_once_published(live_server, page, admin_key, api, artifacts):
    open_builder(page, live_server, admin_key)
    add = page.locator("[data-testid=builder-cards] li.add")
    add.locator("summary").click()
    add.locator("[name=name]").fill("Tea card")
    add.locator("[name=id]").fill("tea-card")
    add.locator("[name=stamps]").fill("5")
    add.locator("[name=item_values]").fill("tea")
    add.locator("[name=completes]").select_option("points")
    assert add.locator("[name=reward]").is_hidden(), "a card completing with points names no reward"
    add.locator("[name=points]").fill("100")
    assert add.locator("[name=expires_days]").is_hidden(), "stamps that never lapse need no days"
    add.locator("[name=expires]").select_option("after_days")
    add.locator("[name=expires_days]").fill("60")
    page.screenshot(path=artifacts / "25-builder-stamp-card.png")
    add.get_by_role("button", name="Apply to the editor").click()
    summary = page.locator("[data-testid=builder-cards] li[data-card=tea-card] summary")
    summary.wait_for()
    assert "5 stamps for tea, one a day, then 100 points" in summary.text_content()
    assert "    expires: {after_days: 60}\n" in page.evaluate("window.rulesEditor.getValue()")
    page.fill("#note", "a tea card")
    page.click("#publish")
    page.wait_for_selector(".flash")
    member = api.enroll(external_id="browser-tea-card")["id"]
    bought = api.purchase(member, 800, items=TEA)
    assert [card["stamps"] for card in bought["member"]["cards"] if card["id"] == "tea-card"] == [1]
    assert page.console_errors == []
