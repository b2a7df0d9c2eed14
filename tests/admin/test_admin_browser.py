"""The marketer's workspace in headless Chromium: sign in, edit with errors at their line, simulate,
backtest, publish, diff, roll back; the member page; the dashboard's charts from real data.

Screenshots go to tests/artifacts/admin/ (printed at the start of the run).
"""

import re
from pathlib import Path

from tests.conftest import awarded_by_rule

ROOT = Path(__file__).resolve().parents[2]
DEMO = (ROOT / "rules" / "program.yaml").read_text()


def sign_in(page, base: str, key: str, path: str = "/admin/rules") -> None:
    page.goto(base + path)
    assert "/admin/login" in page.url
    page.fill("#api_key", key)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(base + path)))


def select_in_editor(page, needle: str, word: str) -> int:
    """Select ``word`` inside the first editor line holding ``needle`` (in the YAML view); returns the 0-based line."""
    if page.get_attribute("#tab-yaml", "aria-selected") != "true":
        page.click("#tab-yaml")
    return page.evaluate(
        """([needle, word]) => {
            const cm = window.rulesEditor;
            const line = cm.getValue().split("\\n").findIndex(text => text.includes(needle));
            const ch = cm.getLine(line).indexOf(word, cm.getLine(line).indexOf(needle));
            cm.focus();
            cm.setSelection({line, ch}, {line, ch: ch + word.length});
            return line;
        }""", [needle, word])


def gutter_error_lines(page) -> list[str]:
    """Line numbers shown beside an error marker in the editor's gutter."""
    return page.eval_on_selector_all(
        ".CodeMirror-code > div",
        """rows => rows.filter(row => row.querySelector('.CodeMirror-lint-marker-error'))
                      .map(row => row.querySelector('.CodeMirror-linenumber').textContent)""")


def test_marketer_edits_checks_simulates_publishes_and_rolls_back(live_server, page, admin_key, api, runner,
                                                                  artifacts, tmp_path):
    member = api.enroll(external_id="browser-ann")["id"]
    assert awarded_by_rule(api.purchase(member, 1000)) == {"spend": 10}
    sign_in(page, live_server, admin_key)
    page.wait_for_selector("#problems .ok")
    page.screenshot(path=artifacts / "1-editor.png", full_page=True)

    line = select_in_editor(page, "award: {points: 25}", "points")
    page.keyboard.type("point")
    error = page.wait_for_selector("#problems li.error")
    assert error.get_attribute("data-line") == str(line + 1)
    assert f"Line {line + 1}" in error.text_content() and "points" in error.text_content()
    page.wait_for_selector(".CodeMirror-lint-marker-error")
    assert gutter_error_lines(page) == [str(line + 1)]
    page.screenshot(path=artifacts / "2-error-at-its-line.png", full_page=True)

    select_in_editor(page, "award: {point: 25}", "point")
    page.keyboard.type("points")
    select_in_editor(page, "award: {points_per_dollar: 1}           # of the whole amount", "1")
    page.keyboard.type("2")
    page.evaluate("window.rulesEditor.execCommand('goDocEnd')")
    page.keyboard.press("Enter")
    page.keyboard.type("# Spring campaign: double points, approved by Dana.")
    page.wait_for_selector("#problems .ok")
    assert gutter_error_lines(page) == []
    changes = page.wait_for_selector("[data-testid=changes] li")
    assert changes.text_content() == "spend: 1 point per $1 → 2 points per $1"
    impact = page.wait_for_selector("[data-testid=impact] [data-testid=backtest-difference]")
    assert impact.text_content().strip() == "+10"  # the last 30 days replayed, without asking
    page.screenshot(path=artifacts / "2b-changes-and-impact.png", full_page=True)

    page.fill("#sim-amount", "10.00")
    page.select_option("#sim-tier", "member")
    page.click("#simulate")
    result = page.wait_for_selector("[data-testid=simulation-result]")
    assert result.query_selector("tr[data-rule=spend] [data-points]").get_attribute("data-points") == "20"
    assert "holiday-double" in result.text_content()  # every purchase rule explains itself
    page.screenshot(path=artifacts / "3-simulated.png", full_page=True)

    page.click("#backtest")
    page.wait_for_selector("[data-testid=backtest-result]")
    assert page.text_content("[data-testid=backtest-difference]").strip() == "+10"
    page.screenshot(path=artifacts / "4-backtest.png", full_page=True)

    edited = page.evaluate("window.rulesEditor.getValue()")
    page.fill("#note", "spring campaign: double points")
    page.click("#publish")
    page.wait_for_selector(".flash")
    assert "Published version 2" in page.text_content(".flash")
    assert page.text_content("[data-testid=active-version]") == "version 2"
    assert awarded_by_rule(api.purchase(member, 1000)) == {"spend": 20}
    exported = runner.invoke(args=["rules", "export", str(tmp_path)])
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "program.yaml").read_text() == edited
    assert "# Spring campaign: double points, approved by Dana." in edited
    assert "# of the whole amount" in edited  # the comments that were there stay too
    page.screenshot(path=artifacts / "5-published.png", full_page=True)

    page.click("#diff")
    page.wait_for_selector("[data-testid=diff]")
    removed = page.eval_on_selector_all(".diff .removed", "spans => spans.map(s => s.textContent)")
    added = page.eval_on_selector_all(".diff .added", "spans => spans.map(s => s.textContent)")
    assert any("points_per_dollar: 1}" in text for text in removed)
    assert any("points_per_dollar: 2}" in text for text in added)
    assert any("# Spring campaign" in text for text in added)
    page.screenshot(path=artifacts / "6-diff.png", full_page=True)

    page.go_back()
    page.wait_for_selector("[data-testid=activate-1]")
    page.click("[data-testid=activate-1]")
    changes = page.wait_for_selector("[data-testid=rollback-changes]")
    assert "spend: 2 points per $1 → 1 point per $1" in changes.text_content()
    impact = page.text_content("[data-testid=rollback-impact] [data-testid=backtest-difference]")
    assert impact.strip() == "-10"  # the purchase made under version 2 would have earned 10 less
    page.screenshot(path=artifacts / "6b-rollback-confirm.png", full_page=True)
    assert awarded_by_rule(api.purchase(member, 1000)) == {"spend": 20}, "nothing changes before confirming"
    page.click("[data-testid=confirm-rollback]")
    page.wait_for_selector(".flash")
    assert "Version 1 is active again" in page.text_content(".flash")
    assert page.text_content("[data-testid=active-version]") == "version 1"
    assert awarded_by_rule(api.purchase(member, 1000)) == {"spend": 10}
    page.screenshot(path=artifacts / "7-rolled-back.png", full_page=True)
    assert page.console_errors == []


def test_member_search_and_adjustment(live_server, page, admin_key, api, artifacts):
    member = api.enroll(external_id="browser-bo", email="bo@example.com")
    sign_in(page, live_server, admin_key, "/admin/members")
    page.fill("#q", "bo@example")
    page.click("form.search button")
    page.click(f"a[href='/admin/members/{member['id']}']")
    page.wait_for_selector("[data-testid=balance]")
    assert page.text_content("[data-testid=balance]") == "50"
    page.fill("#adjust-points", "-20")
    page.click("#adjust")  # the browser itself insists on a reason first
    assert page.text_content("[data-testid=balance]") == "50"
    page.fill("#adjust-reason", "duplicate welcome")
    page.click("#adjust")
    page.wait_for_selector(".flash")
    assert page.text_content("[data-testid=balance]") == "30"
    assert "duplicate welcome" in page.text_content("[data-testid=ledger]")
    page.screenshot(path=artifacts / "8-member.png", full_page=True)
    page.goto(live_server + "/admin/rewards")
    assert "Any drink, any size" in page.text_content("[data-testid=rewards]")
    page.screenshot(path=artifacts / "9-rewards.png", full_page=True)
    assert page.console_errors == []


def test_dashboard_draws_its_charts_from_the_ledger(live_server, page, admin_key, api, artifacts):
    issued = 0
    for name, amount in (("dee", 4500), ("eli", 12000), ("fay", 0)):
        member = api.enroll(external_id=name, email=f"{name}@example.com", email_opt_in=True)
        issued += 150
        if amount:
            issued += sum(awarded_by_rule(api.purchase(member["id"], amount)).values())
    assert api.post(f"/v1/members/{member['id']}/redemptions", {"reward_id": "free-drink"}).status_code == 201
    sign_in(page, live_server, admin_key, "/admin/dashboard")
    for chart in ("points-weekly", "liability-weekly", "lifecycle-funnel", "members-by-stage", "members-by-tier"):
        box = page.locator(f"svg[data-chart={chart}]").bounding_box()
        assert box and box["width"] > 300 and box["height"] > 50, chart

    def values(selector: str) -> list[int]:
        return [int(v) for v in page.eval_on_selector_all(selector, "marks => marks.map(m => m.dataset.value)")]

    assert sum(values("svg[data-chart=points-weekly] rect[data-series=issued]")) == issued
    assert sum(values("svg[data-chart=points-weekly] rect[data-series=redeemed]")) == 150
    assert values("svg[data-chart=lifecycle-funnel] rect") == [3, 2, 0, 0]
    assert values("svg[data-chart=members-by-tier] rect")[0] == 3
    liability = values("svg[data-chart=liability-weekly] circle")
    assert liability[-1] == issued - 150  # minor units: 1 cent a point
    assert page.text_content("[data-kpi=issued]") == f"{issued:,}"
    page.screenshot(path=artifacts / "10-dashboard.png", full_page=True)
    assert page.console_errors == []


def test_publish_is_disabled_with_errors_and_a_risky_change_is_confirmed_at_the_top(live_server, page, admin_key,
                                                                                      api, artifacts):
    member = api.enroll(external_id="browser-rita")["id"]
    review = api.post("/v1/events", {"type": "review", "member_id": member, "source_id": "rita-review-1"},
                      idempotency_key="rita-review-1")
    assert review.status_code == 201
    page.set_viewport_size({"width": 1366, "height": 768})  # a laptop
    sign_in(page, live_server, admin_key)
    page.wait_for_selector("#problems .ok")
    assert page.is_enabled("#publish")
    publish = page.locator("#publish").bounding_box()
    assert publish["y"] + publish["height"] <= 768, "Publish is in view without scrolling"
    select_in_editor(page, "award: {points: 25}", "points")
    page.keyboard.type("point")
    page.wait_for_selector("#problems li.error")
    assert page.is_disabled("#publish"), "nothing with errors can be published"

    select_in_editor(page, "award: {point: 25}", "point")
    page.keyboard.type("points")
    select_in_editor(page, "on: review", "review")
    page.keyboard.type("reveiw")  # a typo the validator cannot catch: an action name is free text
    page.wait_for_selector("#problems .ok")
    page.fill("#note", "reviews: fix wording")
    page.click("#publish")
    banner = page.wait_for_selector("[data-testid=refusal]")
    assert "needs a confirmation" in banner.text_content()
    assert "No rule would handle 'review' any more" in banner.text_content()
    assert banner.bounding_box()["y"] < page.locator("#publish").bounding_box()["y"], "the reason is at the top"
    assert page.input_value("#note") == "reviews: fix wording"
    assert page.text_content("[data-testid=active-version]") == "version 1"
    page.screenshot(path=artifacts / "8-publish-needs-confirmation.png", full_page=True)

    page.check("[data-testid=confirm-publish]")
    page.click("#publish")
    page.wait_for_selector(".flash")
    assert page.text_content("[data-testid=active-version]") == "version 2"
    # The refused publish's page answered 409, which the browser logs as a failed load; nothing else may.
    assert [error for error in page.console_errors if "409 (CONFLICT)" not in error] == []


def test_a_marketer_changes_a_way_to_earn_with_its_form_sees_the_change_publishes_and_it_earns(
        live_server, page, admin_key, api, artifacts):
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, live_server, admin_key)
    page.wait_for_selector("#problems .ok")
    review = page.locator("[data-testid=builder-rules] li[data-rule=review]")
    review.locator("summary").click()
    review.locator("input[name=points]").fill("30")
    review.locator("input[name=limit_count]").fill("5")
    review.get_by_role("button", name="Apply to the editor").click()
    review.get_by_text("Applied to the editor").wait_for()
    edited = page.evaluate("window.rulesEditor.getValue()")
    assert "award: {points: 30}\n    limit: {count: 5, per: calendar_month}" in edited
    assert "# The jobs (`flask --app app jobs run`) send the birthday event" in edited  # comments kept
    changes = page.locator("[data-testid=changes] li")
    changes.first.wait_for()
    assert changes.all_text_contents() == ["review: 25 points → 30 points",
                                           "review: 3 per calendar month → 5 per calendar month"]
    page.screenshot(path=artifacts / "10-way-to-earn-form.png", full_page=True)
    page.fill("#note", "reviews pay 30, five a month")
    page.click("#publish")
    page.wait_for_selector(".flash")
    member = api.enroll(external_id="browser-rev")["id"]
    posted = api.post("/v1/events", {"type": "review", "member_id": member, "source_id": "rev-1"},
                      idempotency_key="rev-1")
    assert awarded_by_rule(posted.get_json()) == {"review": 30}
    assert page.console_errors == []
