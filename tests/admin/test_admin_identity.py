"""/admin: likely duplicates, a merge previewed then confirmed, and a transfer form; both in the audit log."""

import re
from pathlib import Path

from tests.admin.conftest import text_of

DEMO_YAML = (Path(__file__).resolve().parents[2] / "rules" / "program.yaml").read_text()
TRANSFERS = "\ntransfers:\n  enabled: true\n  min_points: 10\n"


def publish_transfers(admin_api) -> None:
    admin_api.publish_rules(DEMO_YAML + TRANSFERS, "transfers")


def sign_in(page, base: str, key: str, path: str) -> None:
    page.goto(base + path)
    page.fill("#api_key", key)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(base + path)))


def test_likely_duplicates_are_listed_with_why(admin_web, api):
    ana = api.enroll("ana-pos", email="ana@example.com", first_name="Ana", last_name="Lima", birthday="1990-04-02")
    by_email = api.enroll("ana-web", email="ana@example.com")
    by_name = api.enroll("ana-app", first_name="ana", last_name="LIMA", birthday="1990-04-02", phone="555-0101")
    by_phone = api.enroll("ana-phone", phone="555-0101")
    api.enroll("someone-else", email="bo@example.com", first_name="Ana", last_name="Lima", birthday="1991-01-01")
    text = text_of(admin_web.get(f"/admin/members/{ana['id']}"))
    assert "ana-web" in text and "same email" in text
    assert "ana-app" in text and "same name and birthday" in text
    assert "ana-phone" not in text and "someone-else" not in text
    assert "same phone" in text_of(admin_web.get(f"/admin/members/{by_phone['id']}"))
    assert by_email and by_name


def test_a_merge_is_previewed_and_changes_nothing_until_confirmed(admin_web, api):
    ana, dup = api.enroll(email="ana@example.com"), api.enroll(email="ana@example.com")
    api.purchase(dup["id"], 2_000)
    preview = admin_web.get(f"/admin/members/{ana['id']}/merge?duplicate={dup['id']}")
    assert preview.status_code == 200
    assert "120" in text_of(preview) and "20 points move in 2 lots" not in text_of(preview)
    assert "70 points move in 2 lots" in text_of(preview)
    assert api.member(ana["id"])["points"]["balance"] == 50
    assert api.member(dup["id"])["points"]["balance"] == 70
    itself = admin_web.get(f"/admin/members/{ana['id']}/merge?duplicate={ana['id']}")
    assert itself.status_code == 409 and "cannot be merged into itself" in text_of(itself)


def test_merge_and_transfer_in_the_browser(live_server, page, admin_key, admin_api, api, artifacts):
    publish_transfers(admin_api)
    ana = api.enroll("ana-pos", email="ana@example.com", first_name="Ana", last_name="Lima")
    dup = api.enroll("ana-web", email="ana@example.com", first_name="Ana", last_name="L.")
    ben = api.enroll("ben-pos", email="ben@example.com", first_name="Ben")
    api.purchase(ana["id"], 40_000)
    api.purchase(dup["id"], 16_000)
    sign_in(page, live_server, admin_key, f"/admin/members/{ana['id']}")
    assert "same email" in page.text_content("[data-testid=duplicates]")

    page.click(f"[data-testid=merge-{dup['id']}]")
    page.wait_for_selector("[data-testid=merge-preview]")
    assert page.text_content("[data-testid=balance-after]").strip() == "660"
    assert "Silver" in page.text_content("[data-testid=tier-after]")
    page.screenshot(path=artifacts / "11-merge-preview.png", full_page=True)
    page.fill("#merge-note", "same customer, signed up online too")
    page.click("#merge-confirm")
    page.wait_for_selector(".flash")
    assert page.text_content("[data-testid=balance]") == "660"
    assert "Merged from" in page.text_content("[data-testid=ledger]")

    page.fill("#transfer-points", "5")
    page.fill("#transfer-to", "ben-pos")
    page.click("#transfer")
    assert "at least 10" in page.text_content("[data-field=transfer]")
    page.fill("#transfer-points", "40")
    page.click("#transfer")
    page.wait_for_selector(".flash")
    assert "Transferred 40 points" in page.text_content(".flash")
    assert page.text_content("[data-testid=balance]") == "620"
    page.screenshot(path=artifacts / "12-merged-and-transferred.png", full_page=True)
    assert api.member(ben["id"])["points"]["balance"] == 90

    page.goto(f"{live_server}/admin/members/{dup['id']}")
    assert "Merged into" in page.text_content("[data-testid=merged-into]")
    page.goto(f"{live_server}/admin/audit")
    audit = page.text_content("[data-testid=audit]")
    assert "Merged members" in audit and "same customer, signed up online too" in audit
    assert "Transferred points" in audit and "40 points to" in audit
    page.screenshot(path=artifacts / "13-audit.png", full_page=True)
    # the refused transfer's page answers 422, as a form with an error does; nothing else may complain
    assert [e for e in page.console_errors if "status of 422" not in e] == [], page.console_errors


def test_the_duplicates_page_groups_members_by_email_phone_or_name_and_birthday(admin_web, admin_api, api):
    first = api.enroll("first", email="ana@example.com", first_name="Ana", last_name="Lima", birthday="1990-04-02")
    second = api.enroll("second", email="ana@example.com", phone="555-0102")
    api.enroll("third", phone="555-0102", first_name="ANA", last_name="lima", birthday="1990-04-02")
    api.enroll("alone", email="bo@example.com", phone="555-0999")
    gone = api.enroll("gone", email="ana@example.com")
    assert admin_api.post(f"/v1/members/{first['id']}/merge", {"member_id": gone["id"]}).status_code == 200
    page = admin_web.get("/admin/members/duplicates")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    rows = re.findall(r"<tr><td>(same [a-z ]+)</td>(.*?)</tr>", html, re.S)
    found = sorted((reason, re.findall(r">(first|second|third|alone|gone)</a>", cells)[0],
                    tuple(re.findall(r">(first|second|third|alone|gone)</a>", cells)[1:])) for reason, cells in rows)
    assert found == [("same email", "first", ("second",)), ("same name and birthday", "first", ("third",)),
                     ("same phone", "second", ("third",))]
    assert f"/admin/members/{first['id']}/merge?duplicate={second['id']}" in html
