"""Members (enrol, look up, change, suspend) and the ledger (listing, paging, adjustments)."""

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from loyalty.extensions import db

NOW = "2026-11-10T15:00:00Z"


def page(api, path: str, **query):
    response = api.get(path, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def all_entries(api, member_id: str) -> list[dict]:
    body = page(api, f"/v1/members/{member_id}/transactions", limit=100)
    assert body["next_cursor"] is None
    return body["data"]


def adjust(admin_api, member_id: str, points: int, reason: str) -> dict:
    response = admin_api.post(f"/v1/members/{member_id}/adjustments", {"points": points, "reason": reason})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def assert_balances_follow_the_entries(entries: list[dict]) -> None:
    """Newest first: each entry's balance_after is the one before it plus its points."""
    oldest_first = list(reversed(entries))
    running = 0
    for entry in oldest_first:
        running += entry["points"]
        assert entry["balance_after"] == running, entry


# --------------------------------------------------------------------------- members


@freeze_time(NOW)
def test_enrolment_fields_round_trip(api):
    ana = api.enroll("cust-1")
    body = {
        "external_id": "cust-42", "email": "Ana.Lopez@Example.COM", "phone": "+1 212 555 0100",
        "first_name": "Ana", "last_name": "López", "birthday": "1990-12-31", "email_opt_in": True,
        "referred_by": ana["referral_code"], "channel": "web", "stripe_customer_id": "cus_123",
    }
    response = api.post("/v1/members", body)
    assert response.status_code == 201, response.get_json()
    member = response.get_json()
    assert member["id"].startswith("mem_")
    assert {k: member[k] for k in ("external_id", "email", "phone", "first_name", "last_name", "birthday",
                                   "email_opt_in", "channel", "stripe_customer_id", "status")} == {
        "external_id": "cust-42", "email": "ana.lopez@example.com", "phone": "+1 212 555 0100",
        "first_name": "Ana", "last_name": "López", "birthday": "1990-12-31", "email_opt_in": True,
        "channel": "web", "stripe_customer_id": "cus_123", "status": "active",
    }
    assert member["referred_by_member_id"] == ana["id"]
    assert member["enrolled_at"] == "2026-11-10T15:00:00Z"
    assert len(member["referral_code"]) == 8 and member["referral_code"] != ana["referral_code"]
    assert member["points"] == {"balance": 150, "pending": 0, "lifetime_earned": 150, "lifetime_redeemed": 0,
                                "expiring_soon": []}
    assert member["tier"]["id"] == "member"
    assert member["lifecycle_stage"] == "enrolled"

    assert api.member(member["id"]) == member


@freeze_time(NOW)
def test_enrolment_needs_only_an_external_id(api):
    member = api.enroll("cust-7")
    assert member["external_id"] == "cust-7"
    assert member["email"] is None and member["phone"] is None and member["birthday"] is None
    assert member["email_opt_in"] is False
    assert member["points"]["balance"] == 50


@freeze_time(NOW)
def test_members_are_found_by_external_id_email_or_phone(api):
    ana = api.enroll("cust-1", email="ana@example.com", phone="555-0101")
    ben = api.enroll("cust-2", email="ben@example.com", phone="555-0102")
    api.enroll("cust-3", email="cy@example.com", phone="555-0101")

    def ids(**query):
        return [m["id"] for m in page(api, "/v1/members", **query)["data"]]

    assert ids(external_id="cust-1") == [ana["id"]]
    assert ids(email="BEN@Example.com") == [ben["id"]]
    assert len(ids(phone="555-0101")) == 2
    assert ids(phone="555-0101", email="ana@example.com") == [ana["id"]]
    assert ids(external_id="cust-404") == []
    assert ids(external_id="cust-1", email="ben@example.com") == []  # every field given must match
    assert ids(external_id="cust-1", phone="555-0101") == [ana["id"]]
    found = page(api, "/v1/members", external_id="cust-1")["data"][0]
    assert found == api.member(ana["id"])


def test_member_list_pages_newest_first(api):
    with freeze_time("2026-11-10T15:00:00Z") as frozen:
        enrolled = []
        for n in range(5):
            frozen.tick(60)
            enrolled.append(api.enroll(f"cust-{n}")["id"])
        seen, cursor = [], None
        while True:
            query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            body = page(api, "/v1/members", **query)
            seen += [m["id"] for m in body["data"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert seen == list(reversed(enrolled))


def test_reading_a_member_is_the_key_check_and_one_statement(app, api, db_backend):
    """GET /v1/members/{id} and the lookup by external id read the row and its view (expiring points,
    qualifying total) in one round trip, and show what the accrual that last changed the member answered."""
    with freeze_time("2026-01-10T15:00:00Z"):
        member_id = api.enroll("cust-read", birthday="1990-12-31", email="ana@example.com", channel="web")["id"]
        api.purchase(member_id, 4_000)
    with freeze_time("2026-12-20T15:00:00Z"):  # the January lots expire within 30 days
        answered = api.purchase(member_id, 700)["member"]
        statements = []
        with app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        read = api.member(member_id)
        sent_by_read = statements[:]
        found = api.get("/v1/members", query_string={"external_id": "cust-read"}).get_json()
    assert read == answered
    assert read["points"]["expiring_soon"] and read["tier"]["qualifying_points"] > 0
    assert found == {"data": [read], "next_cursor": None}
    for sent in (sent_by_read, statements[len(sent_by_read):]):
        assert [s.split()[0] for s in sent if not s.startswith(("BEGIN", "COMMIT", "ROLLBACK"))] == [
            "SELECT", "SELECT"]  # the caller's key, then the member with its view
    assert api.get("/v1/members", query_string={"external_id": "nobody"}).get_json() == {
        "data": [], "next_cursor": None}
    missing = api.get("/v1/members/mem_nosuchmember")
    assert (missing.status_code, missing.get_json()["error"]["code"]) == (404, "not_found")


@freeze_time(NOW)
def test_patch_changes_contact_fields(api):
    member = api.enroll("cust-1", email="ana@example.com", phone="555-0101", first_name="Ana")
    response = api.patch(f"/v1/members/{member['id']}", {
        "email": "Ana.New@Example.com", "phone": "555-0199", "last_name": "Lopez",
        "birthday": "1991-01-02", "stripe_customer_id": "cus_9",
    })
    assert response.status_code == 200
    changed = response.get_json()
    assert (changed["email"], changed["phone"], changed["first_name"], changed["last_name"],
            changed["birthday"], changed["stripe_customer_id"]) == (
        "ana.new@example.com", "555-0199", "Ana", "Lopez", "1991-01-02", "cus_9")
    assert changed["external_id"] == "cust-1"
    assert changed["points"]["balance"] == 50
    assert api.member(member["id"]) == changed
    assert [m["id"] for m in page(api, "/v1/members", email="ana.new@example.com")["data"]] == [member["id"]]
    assert page(api, "/v1/members", email="ana@example.com")["data"] == []

    cleared = api.patch(f"/v1/members/{member['id']}", {"phone": None}).get_json()
    assert cleared["phone"] is None
    assert cleared["email"] == "ana.new@example.com"


@freeze_time(NOW)
def test_suspend_and_reactivate(api):
    member = api.enroll("cust-1")
    suspended = api.patch(f"/v1/members/{member['id']}", {"status": "suspended"})
    assert suspended.status_code == 200
    assert suspended.get_json()["status"] == "suspended"
    assert api.member(member["id"])["status"] == "suspended"

    body = {"type": "purchase", "member_id": member["id"], "amount": 1000, "currency": "USD"}
    refused = api.post("/v1/events", body)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "member_inactive"

    active = api.patch(f"/v1/members/{member['id']}", {"status": "active"})
    assert active.get_json()["status"] == "active"
    accepted = api.post("/v1/events", body)
    assert accepted.status_code == 201
    assert accepted.get_json()["member"]["points"]["balance"] == 60


@freeze_time(NOW)
def test_opting_in_while_suspended_earns_nothing(api):
    member = api.enroll("cust-1", email="ana@example.com")
    api.patch(f"/v1/members/{member['id']}", {"status": "suspended"})
    response = api.patch(f"/v1/members/{member['id']}", {"email_opt_in": True})
    assert response.status_code == 200
    assert response.get_json()["points"]["balance"] == 50


# --------------------------------------------------------------------------- the ledger


@freeze_time(NOW)
def test_ledger_lists_newest_first_with_every_field(api):
    member = api.enroll("cust-1", email="ana@example.com", email_opt_in=True)
    sale = api.purchase(member["id"], 1250, items=[{"category": "coffee", "quantity": 2, "unit_amount": 450}])
    entries = all_entries(api, member["id"])
    assert [(t["type"], t["rule_id"], t["points"], t["balance_after"]) for t in entries] == [
        ("earn", "coffee-bonus", 9, 171), ("earn", "spend", 12, 162),
        ("earn", "email-signup", 100, 150), ("earn", "welcome", 50, 50),
    ]
    newest = entries[0]
    assert set(newest) >= {"id", "type", "points", "balance_after", "rule_id", "event_id", "redemption_id",
                           "reason", "actor", "created_at", "expires_at"}
    assert newest["id"].startswith("txn_")
    assert newest["event_id"] == sale["event"]["id"]
    assert (newest["redemption_id"], newest["reason"], newest["actor"]) == (None, None, "till-1")
    assert newest["created_at"] == "2026-11-10T15:00:00Z"
    assert newest["rules_version"] == sale["event"]["rules_version"]
    assert len({t["id"] for t in entries}) == 4


@freeze_time(NOW)
def test_ledger_pages_with_a_cursor_without_gaps_or_duplicates(api, admin_api, db_backend):
    member = api.enroll("cust-1", email="ana@example.com", email_opt_in=True)
    api.purchase(member["id"], 1250, items=[{"category": "coffee", "quantity": 2, "unit_amount": 450}])
    for n in range(24):
        adjust(admin_api, member["id"], n + 1 if n % 3 else -(n + 1), f"correction {n}")
    everything = all_entries(api, member["id"])
    assert len(everything) == 28

    pages, cursor = [], None
    while True:
        query = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        body = page(api, f"/v1/members/{member['id']}/transactions", **query)
        pages.append(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str) and cursor
    assert [len(p) for p in pages] == [10, 10, 8]
    walked = [t["id"] for p in pages for t in p]
    assert walked == [t["id"] for t in everything]
    assert len(set(walked)) == 28

    default = page(api, f"/v1/members/{member['id']}/transactions")
    assert len(default["data"]) == 20 and default["next_cursor"] is not None

    exact = page(api, f"/v1/members/{member['id']}/transactions", limit=28)
    assert len(exact["data"]) == 28 and exact["next_cursor"] is None


@freeze_time(NOW)
def test_ledger_filters_by_type(api, admin_api):
    member = api.enroll("cust-1", email="ana@example.com", email_opt_in=True)
    sale = api.purchase(member["id"], 1250, items=[{"category": "coffee", "quantity": 2, "unit_amount": 450}])
    adjust(admin_api, member["id"], 5, "goodwill")
    adjust(admin_api, member["id"], -3, "correction")
    assert api.post(f"/v1/events/{sale['event']['id']}/refunds", {"amount": 1250}).status_code == 201

    earns = page(api, f"/v1/members/{member['id']}/transactions", type="earn")["data"]
    assert [t["rule_id"] for t in earns] == ["coffee-bonus", "spend", "email-signup", "welcome"]
    adjusts = page(api, f"/v1/members/{member['id']}/transactions", type="adjust")["data"]
    assert [t["points"] for t in adjusts] == [-3, 5]
    reverses = page(api, f"/v1/members/{member['id']}/transactions", type="reverse")["data"]
    assert [t["points"] for t in reverses] == [-21]
    assert page(api, f"/v1/members/{member['id']}/transactions", type="expire")["data"] == []

    paged = page(api, f"/v1/members/{member['id']}/transactions", type="earn", limit=3)
    assert len(paged["data"]) == 3
    rest = page(api, f"/v1/members/{member['id']}/transactions", type="earn", limit=3,
                cursor=paged["next_cursor"])
    assert [t["rule_id"] for t in rest["data"]] == ["welcome"] and rest["next_cursor"] is None


@freeze_time(NOW)
def test_adjustments_carry_their_reason_and_actor(api, admin_api, db_backend):
    member = api.enroll("cust-1")
    plus = adjust(admin_api, member["id"], 40, "goodwill: cold coffee")
    assert plus["transaction"]["type"] == "adjust"
    assert (plus["transaction"]["points"], plus["transaction"]["balance_after"]) == (40, 90)
    assert plus["transaction"]["reason"] == "goodwill: cold coffee"
    assert plus["transaction"]["actor"] == "admin-test"
    assert plus["transaction"]["rule_id"] is None
    assert plus["transaction"]["expires_at"] == "2027-11-10T15:00:00Z"
    assert plus["member"]["points"]["balance"] == 90

    minus = adjust(admin_api, member["id"], -140, "duplicate points from a till error")
    assert (minus["transaction"]["points"], minus["transaction"]["balance_after"]) == (-140, -50)
    assert minus["member"]["points"]["balance"] == -50

    entries = all_entries(api, member["id"])
    assert [(t["type"], t["points"], t["reason"], t["actor"]) for t in entries] == [
        ("adjust", -140, "duplicate points from a till error", "admin-test"),
        ("adjust", 40, "goodwill: cold coffee", "admin-test"),
        ("earn", 50, None, "till-1"),
    ]
    assert entries[0]["id"] == minus["transaction"]["id"]


@freeze_time(NOW)
def test_adjustment_of_a_suspended_member_is_allowed(api, admin_api):
    member = api.enroll("cust-1")
    api.patch(f"/v1/members/{member['id']}", {"status": "suspended"})
    assert adjust(admin_api, member["id"], 10, "fix")["member"]["points"]["balance"] == 60


def test_balance_is_the_sum_of_the_entries_after_everything(api, admin_api, runner, db_backend):
    with freeze_time("2026-12-21T15:00:00Z") as frozen:
        ana = api.enroll("cust-1", email="ana@example.com", email_opt_in=True)
        ben = api.enroll("cust-2", referred_by=ana["referral_code"])
        sales = [api.purchase(ben["id"], 120_000, items=[{"category": "coffee", "quantity": 3,
                                                         "unit_amount": 10_000}])]
        sales.append(api.purchase(ana["id"], 3333, items=[{"category": "coffee", "quantity": 1,
                                                          "unit_amount": 333}]))
        for member in (ana, ben):
            api.action(member["id"], "review")
            api.action(member["id"], "birthday")
        adjust(admin_api, ben["id"], -3000, "spent in store")
        assert api.post(f"/v1/events/{sales[0]['event']['id']}/refunds", {"amount": 40_000}).status_code == 201
        assert api.post(f"/v1/events/{sales[1]['event']['id']}/refunds", {"amount": 1111}).status_code == 201
        frozen.move_to("2026-12-22T15:00:00Z")
        sales.append(api.purchase(ben["id"], 9999))
        assert api.post(f"/v1/events/{sales[0]['event']['id']}/refunds", {"amount": 80_000}).status_code == 201
        adjust(admin_api, ana["id"], 7, "rounding goodwill")

        for member in (ana, ben):
            entries = all_entries(api, member["id"])
            view = api.member(member["id"])
            assert view["points"]["balance"] == sum(t["points"] for t in entries)
            assert entries[0]["balance_after"] == view["points"]["balance"]
            assert_balances_follow_the_entries(entries)
        # ben: 50 welcome, the capped holiday purchase 2,000, referral 250, review 25, birthday 200,
        # -3,000 spent, the refunds reverse all 2,000, then $99.99 × 1.5 (gold) = 149 twice (spend, holiday)
        assert api.member(ben["id"])["points"]["balance"] == 50 + 2000 + 250 + 25 + 200 - 3000 - 2000 + 2 * 149

    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "Ledger OK" in result.output


@pytest.mark.parametrize("points", [1, -1])
def test_ledger_verify_passes_after_small_adjustments(admin_api, runner, points):
    member = admin_api.enroll("cust-1")
    adjust(admin_api, member["id"], points, "check")
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
