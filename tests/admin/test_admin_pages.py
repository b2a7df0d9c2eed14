"""/admin without a browser: sign-in, CSRF, headers, the editor's endpoints, members, dashboard."""

import re
import uuid
from pathlib import Path

import pytest

from loyalty import clock
from loyalty.extensions import db
from loyalty.models import ApiKey
from tests.admin.conftest import sign_in, text_of

ROOT = Path(__file__).resolve().parents[2]
DEMO = (ROOT / "rules" / "program.yaml").read_text()
SPEND_LINE = "award: {points_per_dollar: 1}           # of the whole amount"
DOUBLE = DEMO.replace(SPEND_LINE, "award: {points_per_dollar: 2}  # doubled for the spring campaign")


def test_pages_need_a_signed_in_admin(app):
    client = app.test_client()
    for path in ("/admin/", "/admin/rules", "/admin/dashboard", "/admin/members", "/admin/rewards"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"], path


def test_sign_in_needs_an_admin_key(app, pos_key):
    client = app.test_client()
    response = sign_in(client, pos_key)
    assert response.status_code == 401 and "scope admin" in text_of(response)
    response = sign_in(client, "lk_nope_nope")
    assert response.status_code == 401 and "not valid" in text_of(response)
    assert client.get("/admin/rules").status_code == 302


def test_sign_in_opens_a_strict_http_only_session_and_goes_where_asked(app, admin_key):
    client = app.test_client()
    client.get("/admin/login")
    with client.session_transaction() as session:
        token_before = session["csrf_token"]
    response = client.post("/admin/login?next=/admin/rules",
                           data={"csrf_token": token_before, "api_key": admin_key})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/rules"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    with client.session_transaction() as session:
        assert session["csrf_token"] != token_before  # a new token once signed in
    assert client.get("/admin/rules").status_code == 200


def test_next_never_leaves_admin(app, admin_key):
    client = app.test_client()
    client.get("/admin/login")
    with client.session_transaction() as session:
        token = session["csrf_token"]
    response = client.post("/admin/login?next=//evil.example/x", data={"csrf_token": token, "api_key": admin_key})
    assert response.headers["Location"] == "/admin/dashboard"


def test_posts_without_the_csrf_token_are_refused(app, admin_web):
    response = admin_web.client.post("/admin/rules/publish", data={"yaml": DOUBLE, "note": "x"})
    assert response.status_code == 400
    response = admin_web.client.post("/admin/rules/publish",
                                     data={"yaml": DOUBLE, "note": "x", "csrf_token": "forged"})
    assert response.status_code == 400
    response = admin_web.client.post("/admin/rules/check", json={"yaml": DEMO})
    assert response.status_code == 400
    assert admin_web.get("/v1/rules").status_code == 401  # the session is no API credential


def test_admin_responses_carry_security_headers(app, admin_web):
    for path in ("/admin/login", "/admin/rules", "/admin/static/rules.js"):
        headers = admin_web.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_pages_have_no_inline_script_and_no_outside_assets(admin_web):
    for path in ("/admin/rules", "/admin/dashboard"):
        html = admin_web.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert not re.search(r"""(src|href)=["']https?://""", html), path


def test_a_revoked_key_ends_the_session(app, admin_web):
    with app.app_context():
        key = db.session.scalar(db.select(ApiKey).where(ApiKey.name == "admin-test"))
        key.revoked_at = clock.now()
        db.session.commit()
        db.session.remove()
    assert admin_web.get("/admin/rules").status_code == 302


def test_check_reports_errors_at_their_line(admin_web):
    assert admin_web.post_json("/admin/rules/check", {"yaml": DEMO}).get_json() == {
        "valid": True, "errors": [], "changes": []}
    broken = DEMO.replace("award: {points: 25}", "award: {point: 25}")
    body = admin_web.post_json("/admin/rules/check", {"yaml": broken}).get_json()
    line = broken.splitlines().index(next(x for x in broken.splitlines() if "{point: 25}" in x)) + 1
    assert body["valid"] is False and [e["line"] for e in body["errors"]] == [line]


def test_publish_keeps_the_text_verbatim_and_export_writes_it(app, admin_web, runner, tmp_path):
    edited = DOUBLE + "\n# Spring campaign: approved by Dana, 3 March.\n"
    response = admin_web.post("/admin/rules/publish", {"yaml": edited, "note": "spring campaign"})
    assert response.status_code == 302
    assert "Published version 2" in text_of(admin_web.get("/admin/rules"))
    result = runner.invoke(args=["rules", "export", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "program.yaml").read_text() == edited


def test_publishing_broken_rules_shows_the_line_and_changes_nothing(admin_web):
    broken = DEMO.replace("award: {points: 25}", "award: {point: 25}")
    response = admin_web.post("/admin/rules/publish", {"yaml": broken, "note": "oops"})
    assert response.status_code == 422
    line = broken.splitlines().index(next(x for x in broken.splitlines() if "{point: 25}" in x)) + 1
    assert f'data-line="{line}"' in response.get_data(as_text=True)
    assert "{point: 25}" in response.get_data(as_text=True)  # the marketer's text is kept for fixing
    assert "version 1" in text_of(admin_web.get("/admin/rules"))


def test_publish_needs_a_note(admin_web):
    response = admin_web.post("/admin/rules/publish", {"yaml": DOUBLE, "note": " "})
    assert response.status_code == 422 and "note" in text_of(response)


def test_rollback_diff_and_download(admin_web, api):
    admin_web.post("/admin/rules/publish", {"yaml": DOUBLE, "note": "double"})
    member = api.enroll()["id"]
    assert api.purchase(member, 1000)["awarded"][0]["points"] == 20
    response = admin_web.post("/admin/rules/versions/1/activate")
    assert response.status_code == 302
    assert api.purchase(member, 1000)["awarded"][0]["points"] == 10
    diff = admin_web.get("/admin/rules/diff?a=1&b=2")
    html = diff.get_data(as_text=True)
    assert '<span class="removed">-    ' + SPEND_LINE in html
    assert '<span class="added">+    award: {points_per_dollar: 2}  # doubled for the spring campaign' in html
    download = admin_web.get("/admin/rules/versions/2.yaml")
    assert download.get_data(as_text=True) == DOUBLE and "attachment" in download.headers["Content-Disposition"]
    assert admin_web.get("/admin/rules/diff?a=1&b=9").status_code == 404
    assert admin_web.get(f"/admin/rules/diff?a=1&b={2**63}").status_code == 404
    assert admin_web.post(f"/admin/rules/versions/{2**63}/activate").status_code == 404


def test_simulate_a_described_and_a_real_member(admin_web, api):
    body = {"yaml": DOUBLE, "type": "purchase", "amount": "10.00", "tier": "silver", "category": "coffee",
            "quantity": "2", "unit_amount": "4.50"}
    html = admin_web.post("/admin/rules/simulate", body).get_data(as_text=True)
    assert re.search(r'data-rule="spend">\s*<td><code>spend</code></td><td class="num" data-points="25"', html)
    assert 'data-testid="simulation-total">36<' in html  # 25 + coffee 11
    member = api.enroll(external_id="sim-ann")
    for _ in range(3):
        api.action(member["id"], "review")
    html = admin_web.post("/admin/rules/simulate", {"yaml": DEMO, "type": "review",
                                                    "member": "sim-ann"}).get_data(as_text=True)
    assert 'data-testid="simulation-total">0<' in html and "3" in html
    response = admin_web.post("/admin/rules/simulate", {"yaml": DEMO, "type": "review", "member": "nobody"})
    assert response.status_code == 422 and "No member" in text_of(response)


def test_backtest_panel(admin_web, api):
    member = api.enroll()["id"]
    api.purchase(member, 1000)
    today = clock.now().date()
    response = admin_web.post("/admin/rules/backtest", {"yaml": DOUBLE, "from": str(today.replace(day=1)),
                                                        "to": str(today)})
    assert response.status_code == 200
    assert 'data-testid="backtest-difference">+10<' in response.get_data(as_text=True)
    response = admin_web.post("/admin/rules/backtest", {"yaml": DOUBLE, "from": "", "to": str(today)})
    assert response.status_code == 422


def test_member_search_page_and_adjustment(admin_web, api):
    member = api.enroll(external_id="cust-77", email="zoe@example.com")
    assert "cust-77" in text_of(admin_web.get("/admin/members?q=zoe"))
    page = admin_web.get(f"/admin/members/{member['id']}")
    assert page.status_code == 200 and "Welcome bonus" in text_of(page)  # the rule by its name
    assert "When (America/New_York)" in text_of(page) and "dates in America/New_York" in text_of(page)
    key = uuid.uuid4().hex
    refused = admin_web.post(f"/admin/members/{member['id']}/adjustments",
                             {"points": "40", "reason": " ", "idempotency_key": key})
    assert refused.status_code == 422 and "reason is required" in text_of(refused)
    assert api.member(member["id"])["points"]["balance"] == 50
    for _ in range(2):  # sent twice: applied once
        done = admin_web.post(f"/admin/members/{member['id']}/adjustments",
                              {"points": "40", "reason": "missed stamp card", "idempotency_key": key})
        assert done.status_code == 302
    assert api.member(member["id"])["points"]["balance"] == 90
    entries = api.get(f"/v1/members/{member['id']}/transactions").get_json()["data"]
    assert (entries[0]["type"], entries[0]["points"], entries[0]["reason"], entries[0]["actor"]) == \
        ("adjust", 40, "missed stamp card", "admin-test")


def test_the_check_says_what_the_edit_changes(admin_web):
    edited = (Path(__file__).resolve().parents[2] / "rules" / "program.yaml").read_text().replace(
        "award: {points: 25}", "award: {points: 30}")
    checked = admin_web.post_json("/admin/rules/check", {"yaml": edited}).get_json()
    assert checked == {"valid": True, "errors": [], "changes": ["review: 25 points → 30 points"]}
    broken = admin_web.post_json("/admin/rules/check", {"yaml": "rules: ["}).get_json()
    assert broken["valid"] is False and broken["changes"] == []


def test_a_large_adjustment_asks_a_second_time_and_keeps_the_form(app, admin_web, api):
    member = api.enroll(first_name="Ana", last_name="López")
    above = app.config["ADJUSTMENT_CONFIRM_ABOVE"]
    key = uuid.uuid4().hex
    form = {"points": str(-(above + 9000)), "reason": "duplicate import", "idempotency_key": key}
    asked = admin_web.post(f"/admin/members/{member['id']}/adjustments", form)
    assert asked.status_code == 409
    shown = text_of(asked)
    assert f"Adjust Ana López by {-(above + 9000):+,} points?" in shown
    assert f"more than the {above:,} points that need a second look" in shown
    assert 'value="duplicate import"' in asked.get_data(as_text=True)
    assert api.member(member["id"])["points"]["balance"] == 50, "nothing changed yet"
    done = admin_web.post(f"/admin/members/{member['id']}/adjustments", {**form, "confirm": "1"})
    assert done.status_code == 302
    assert api.member(member["id"])["points"]["balance"] == 50 - above - 9000
    small = admin_web.post(f"/admin/members/{member['id']}/adjustments",
                           {"points": str(above), "reason": "goodwill", "idempotency_key": uuid.uuid4().hex})
    assert small.status_code == 302, "up to the limit, one click"


@pytest.mark.parametrize("points", ["0", "lots", ""])
def test_adjustment_points_must_be_a_whole_number(admin_web, api, points):
    member = api.enroll()
    response = admin_web.post(f"/admin/members/{member['id']}/adjustments",
                              {"points": points, "reason": "x", "idempotency_key": uuid.uuid4().hex})
    assert response.status_code == 422


def test_rewards_and_dashboard_render(admin_web, api):
    member = api.enroll()["id"]
    api.purchase(member, 25000)
    rewards = text_of(admin_web.get("/admin/rewards"))
    assert "free-drink" in rewards and "five-off" in rewards
    assert "Amount off" in rewards and "$5.00" in rewards and "Silver, Gold" in rewards  # the program's words
    dashboard = admin_web.get("/admin/dashboard").get_data(as_text=True)
    for chart in ("points-weekly", "liability-weekly", "lifecycle-funnel", "members-by-stage", "members-by-tier"):
        assert f'data-chart="{chart}"' in dashboard
    issued = sum(int(v) for v in re.findall(r'data-series="issued" data-label="[^"]*" data-value="(\d+)"', dashboard))
    assert issued == 50 + 250
    assert re.search(r'data-label="Member" data-value="1"', dashboard)
