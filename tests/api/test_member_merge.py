"""Merging a duplicate member into the member who stays (contract 1.1, "Member identity")."""

import sqlalchemy as sa
from freezegun import freeze_time

from loyalty.extensions import db
from loyalty.ledger.verify import verify_ledger
from loyalty.models import LedgerEntry, Lot, Member, MemberAlias

COFFEE = [{"category": "coffee", "quantity": 1, "unit_amount": 450}]


def merge(admin_api, survivor_id, duplicate_id, **kwargs):
    return admin_api.post(f"/v1/members/{survivor_id}/merge", {"member_id": duplicate_id}, **kwargs)


def merged(admin_api, survivor_id, duplicate_id) -> dict:
    response = merge(admin_api, survivor_id, duplicate_id)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def lots_of(app, member_id) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(sa.select(Lot.expires_at, Lot.remaining, Lot.status).where(
            Lot.member_id == member_id, Lot.remaining > 0).order_by(Lot.expires_at, Lot.remaining)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def entries_of(app, member_id) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(sa.select(LedgerEntry.type, LedgerEntry.points, LedgerEntry.reason).where(
            LedgerEntry.member_id == member_id).order_by(LedgerEntry.seq)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def ledger_is_clean(app) -> bool:
    with app.app_context():
        mismatches = verify_ledger(db.session())
        db.session.remove()
    assert mismatches == []
    return True


def test_the_duplicates_points_move_with_their_own_expiry_as_a_pair_of_entries(app, api, admin_api, db_backend):
    with freeze_time("2026-03-10T15:00:00Z") as frozen:
        ana = api.enroll("cust-ana", email="ana@example.com")
        api.purchase(ana["id"], 12_000)
        frozen.move_to("2026-05-20T15:00:00Z")
        dup = api.enroll("cust-ana-web", email="ana.l@example.com")
        api.purchase(dup["id"], 3_000)
        dup_lots = lots_of(app, dup["id"])
        ana_lots = lots_of(app, ana["id"])
        before = api.member(ana["id"])["points"]["balance"], api.member(dup["id"])["points"]["balance"]

        survivor = merged(admin_api, ana["id"], dup["id"])

        assert survivor["id"] == ana["id"]
        assert survivor["points"]["balance"] == sum(before) == 50 + 120 + 50 + 30
        assert sorted(lots_of(app, ana["id"])) == sorted(ana_lots + dup_lots)
        assert lots_of(app, dup["id"]) == []
        assert entries_of(app, dup["id"])[-1] == ("merge", -80, f"Merged into {ana['id']}")
        assert entries_of(app, ana["id"])[-1] == ("merge", 80, f"Merged from {dup['id']}")
        # the duplicate's history stays: its earn entries are still there
        assert [e[0] for e in entries_of(app, dup["id"])] == ["earn", "earn", "merge"]
        transactions = api.get(f"/v1/members/{dup['id']}/transactions").get_json()["data"]
        assert [t["type"] for t in transactions] == ["merge", "earn", "earn"]
    assert ledger_is_clean(app)


def test_the_duplicate_answers_410_and_its_external_id_and_email_find_the_survivor(api, admin_api, db_backend):
    ana = api.enroll("cust-ana", email="ana@example.com")
    dup = api.enroll("cust-ana-web", email="ana.l@example.com", phone="555-0100")
    merged(admin_api, ana["id"], dup["id"])

    response = api.get(f"/v1/members/{dup['id']}")
    assert response.status_code == 410
    error = response.get_json()["error"]
    assert error["code"] == "member_merged" and error["details"] == {"merged_into": ana["id"]}
    for query in ("external_id=cust-ana-web", "email=ana.l@example.com", "email=ANA.L@example.com",
                  "phone=555-0100", "external_id=cust-ana"):
        found = api.get(f"/v1/members?{query}").get_json()["data"]
        assert [m["id"] for m in found] == ([] if query.startswith("phone") else [ana["id"]]), query
    assert api.patch(f"/v1/members/{dup['id']}", {"first_name": "Ana"}).status_code == 410
    enrolled_again = api.post("/v1/members", {"external_id": "cust-ana-web"})
    assert enrolled_again.status_code == 409
    assert enrolled_again.get_json()["error"]["details"]["member_id"] == ana["id"]


def test_merging_into_itself_or_with_a_merged_member_is_invalid_state(api, admin_api, db_backend):
    ana, dup, third = api.enroll(), api.enroll(), api.enroll()
    itself = merge(admin_api, ana["id"], ana["id"])
    assert itself.status_code == 409 and itself.get_json()["error"]["code"] == "invalid_state"
    merged(admin_api, ana["id"], dup["id"])
    for survivor, duplicate in ((ana["id"], dup["id"]), (third["id"], dup["id"]), (dup["id"], third["id"])):
        again = merge(admin_api, survivor, duplicate)
        assert again.status_code == 409, (survivor, duplicate)
        assert again.get_json()["error"]["code"] == "invalid_state"
        assert again.get_json()["error"]["details"]["merged_into"] == ana["id"]
    missing = merge(admin_api, ana["id"], "mem_nobody")
    assert missing.status_code == 404
    assert merge(api, ana["id"], third["id"]).status_code == 403  # admin only
    assert api.member(third["id"])["points"]["balance"] == 50


def test_a_merge_is_idempotent(api, admin_api, db_backend):
    ana, dup = api.enroll(), api.enroll()
    first = merge(admin_api, ana["id"], dup["id"], idempotency_key="merge-1")
    replay = merge(admin_api, ana["id"], dup["id"], idempotency_key="merge-1")
    assert first.status_code == replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == first.get_json()
    assert api.member(ana["id"])["points"]["balance"] == 100
    assert merge(admin_api, ana["id"], dup["id"], idempotency_key=False).status_code == 400  # a key is required


def test_events_for_the_duplicate_land_on_the_survivor(api, admin_api, db_backend):
    ana, dup = api.enroll("cust-ana"), api.enroll("cust-dup")
    merged(admin_api, ana["id"], dup["id"])
    by_id = api.purchase(dup["id"], 1_000)
    assert {a["member_id"] for a in by_id["awarded"]} == {ana["id"]}
    assert by_id["member"]["id"] == ana["id"]
    by_external_id = api.post("/v1/events", {"type": "review", "external_id": "cust-dup"})
    assert by_external_id.status_code == 201
    assert by_external_id.get_json()["member"]["id"] == ana["id"]
    assert api.member(ana["id"])["points"]["balance"] == 100 + 10 + 25


def test_a_refund_of_the_duplicates_purchase_claws_back_from_the_survivor(app, api, admin_api, db_backend):
    with freeze_time("2026-11-10T15:00:00Z"):
        ana, dup = api.enroll(), api.enroll()
        sale = api.purchase(dup["id"], 3_333, items=[{"category": "coffee", "quantity": 1, "unit_amount": 3_333}])
        earned = sum(a["points"] for a in sale["awarded"])  # spend 33 + coffee 33
        assert earned == 66
        merged(admin_api, ana["id"], dup["id"])
        balance = api.member(ana["id"])["points"]["balance"]
        refunded = 0
        for amount in (1_111, 1, 2_000, 221):
            response = api.post(f"/v1/events/{sale['event']['id']}/refunds", {"amount": amount})
            assert response.status_code == 201, response.get_json()
            body = response.get_json()
            assert body["member"]["id"] == ana["id"]
            expected = earned * (refunded + amount) // 3_333 - earned * refunded // 3_333
            assert body["reversed_points"] == expected
            refunded += amount
            balance -= expected
            assert body["member"]["points"]["balance"] == balance
        assert refunded == 3_333 and balance == 100  # all 66 came back out of the survivor
        assert [e[0] for e in entries_of(app, dup["id"])] == ["earn", "earn", "earn", "merge"]
    assert ledger_is_clean(app)


def test_limits_are_the_persons_merged_counts_add_up_under_their_caps(api, admin_api, db_backend):
    with freeze_time("2026-11-10T15:00:00Z"):
        ana, dup = api.enroll(), api.enroll()
        for member in (ana, dup, ana, dup):
            assert api.action(member["id"], "review")["awarded"][0]["points"] == 25
        merged(admin_api, ana["id"], dup["id"])
        fifth = api.action(ana["id"], "review")
        assert fifth["awarded"] == []
        review = next(line for line in fifth["explanation"] if line["rule_id"] == "review")
        assert review["points"] == 0 and review["reason"] == "Limit of 3 per calendar month reached"


def test_purchases_count_for_the_lifecycle_and_the_better_tier_is_kept_with_its_hold(api, admin_api, db_backend):
    with freeze_time("2026-11-10T15:00:00Z") as frozen:
        ana, dup = api.enroll(), api.enroll()
        api.purchase(ana["id"], 1_000)
        frozen.move_to("2026-11-12T15:00:00Z")
        api.purchase(dup["id"], 160_000)  # 1,600 qualifying points: gold
        gold = api.member(dup["id"])["tier"]
        assert gold["id"] == "gold"
        assert api.member(ana["id"])["lifecycle_stage"] == "first_purchase"
        frozen.move_to("2026-11-20T15:00:00Z")
        survivor = merged(admin_api, ana["id"], dup["id"])
        assert survivor["tier"]["id"] == "gold"
        assert survivor["tier"]["since"] == gold["since"] and survivor["tier"]["expires_at"] == gold["expires_at"]
        assert survivor["lifecycle_stage"] == "repeat"
        # the survivor now earns at gold's multiplier
        assert api.purchase(ana["id"], 1_000)["awarded"][0]["points"] == 15


def test_qualifying_points_add_up_and_may_reach_a_higher_tier(api, admin_api, db_backend):
    with freeze_time("2026-11-10T15:00:00Z"):
        ana, dup = api.enroll(), api.enroll()
        api.purchase(ana["id"], 30_000)
        api.purchase(dup["id"], 30_000)
        assert api.member(ana["id"])["tier"]["id"] == "member"
        assert merged(admin_api, ana["id"], dup["id"])["tier"]["id"] == "silver"  # 300 + 300 ≥ 500


def test_unused_reward_codes_stay_valid_and_a_void_returns_the_points_to_the_survivor(app, api, admin_api,
                                                                                       db_backend):
    with freeze_time("2026-11-10T15:00:00Z"):
        ana, dup = api.enroll(), api.enroll()
        api.purchase(dup["id"], 25_000)
        codes = []
        for _ in range(2):
            response = api.post(f"/v1/members/{dup['id']}/redemptions", {"reward_id": "free-drink"})
            assert response.status_code == 201
            codes.append(response.get_json())
        assert api.member(dup["id"])["points"]["balance"] == 300 - 300 + 0
        merged(admin_api, ana["id"], dup["id"])
        looked_up = api.get(f"/v1/redemptions/{codes[0]['code']}")
        assert looked_up.status_code == 200 and looked_up.get_json()["status"] == "issued"
        assert api.post(f"/v1/redemptions/{codes[0]['id']}/complete").status_code == 200
        voided = api.post(f"/v1/redemptions/{codes[1]['id']}/void")
        assert voided.status_code == 200, voided.get_json()
        assert api.member(ana["id"])["points"]["balance"] == 50 + 150
        assert entries_of(app, ana["id"])[-1][:2] == ("void", 150)
        assert lots_of(app, dup["id"]) == []
    assert ledger_is_clean(app)


def test_a_duplicate_in_debt_brings_its_debt(app, api, admin_api, db_backend):
    ana, dup = api.enroll(), api.enroll()
    assert admin_api.post(f"/v1/members/{dup['id']}/adjustments",
                          {"points": -80, "reason": "spent twice"}).status_code == 201
    survivor = merged(admin_api, ana["id"], dup["id"])
    assert survivor["points"]["balance"] == 50 - 30
    assert entries_of(app, dup["id"])[-1][:2] == ("merge", 30)
    assert entries_of(app, ana["id"])[-1][:2] == ("merge", -30)
    assert sum(remaining for _, remaining, _ in lots_of(app, ana["id"])) == 20
    assert ledger_is_clean(app)


def test_a_survivor_in_debt_pays_it_from_what_arrives(app, api, admin_api, db_backend):
    ana, dup = api.enroll(), api.enroll()
    admin_api.post(f"/v1/members/{ana['id']}/adjustments", {"points": -70, "reason": "spent twice"})
    survivor = merged(admin_api, ana["id"], dup["id"])
    assert survivor["points"]["balance"] == -20 + 50
    assert sum(remaining for _, remaining, _ in lots_of(app, ana["id"])) == 30
    assert ledger_is_clean(app)


def test_referrals_move_to_the_survivor(api, admin_api, db_backend):
    ana, dup = api.enroll(), api.enroll()
    friend = api.enroll(referred_by=dup["referral_code"])
    merged(admin_api, ana["id"], dup["id"])
    sale = api.purchase(friend["id"], 1_000)
    referrer_award = [a for a in sale["awarded"] if a["member_id"] != friend["id"]]
    assert [(a["member_id"], a["points"]) for a in referrer_award] == [(ana["id"], 500)]
    assert api.member(ana["id"])["points"]["balance"] == 100 + 500


def test_a_merge_is_in_the_audit_log(api, admin_api, db_backend):
    ana, dup = api.enroll(), api.enroll()
    response = admin_api.post(f"/v1/members/{ana['id']}/merge", {"member_id": dup["id"], "note": "same person"})
    assert response.status_code == 200
    [record] = admin_api.get("/v1/audit?action=merge").get_json()["data"]
    assert record["target"] == ana["id"] and record["note"] == "same person"
    assert record["details"]["merged_member_id"] == dup["id"] and record["details"]["points"] == 50


def test_erasing_the_survivor_erases_the_duplicates_personal_data_and_aliases(app, api, admin_api, db_backend):
    ana = api.enroll("cust-ana", email="ana@example.com")
    dup = api.enroll("cust-ana-web", email="ana.web@example.com", phone="555-0199", first_name="Ana")
    merged(admin_api, ana["id"], dup["id"])
    assert api.client.delete(f"/v1/members/{ana['id']}", headers=api.headers(idempotency_key=False)).status_code \
        in (200, 204)
    with app.app_context():
        row = db.session.get(Member, dup["id"])
        assert (row.status, row.external_id, row.email, row.phone, row.first_name, row.search_text) == (
            "merged", None, None, None, None, None)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MemberAlias)) == 0
        db.session.remove()
    assert api.get("/v1/members?external_id=cust-ana-web").get_json()["data"] == []
    assert api.get("/v1/members?email=ana.web@example.com").get_json()["data"] == []


def test_an_adjustment_of_the_duplicate_is_refused_and_its_widget_shows_the_survivor(app, api, admin_api, db_backend):
    ana, dup = api.enroll(), api.enroll()
    old_token = api.post(f"/v1/members/{dup['id']}/widget-tokens").get_json()["token"]
    merged(admin_api, ana["id"], dup["id"])
    refused = admin_api.post(f"/v1/members/{dup['id']}/adjustments", {"points": 5, "reason": "late goodwill"})
    assert refused.status_code == 410 and refused.get_json()["error"]["details"] == {"merged_into": ana["id"]}
    new_token = api.post(f"/v1/members/{dup['id']}/widget-tokens").get_json()["token"]
    for token in (old_token, new_token):
        me = api.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.get_json()["points"]["balance"] == 100


def test_a_batch_of_events_for_the_duplicate_lands_on_the_survivor_too(api, admin_api, db_backend):
    ana, dup = api.enroll(external_id="ana-batch"), api.enroll(external_id="ana-batch-old")
    merged(admin_api, ana["id"], dup["id"])
    events = [{"type": "purchase", "member_id": dup["id"], "amount": 1000, "currency": "USD", "source_id": "b-1"},
              {"type": "purchase", "external_id": "ana-batch-old", "amount": 2000, "currency": "USD",
               "source_id": "b-2"}]
    results = api.post("/v1/events/batch", {"events": events}).get_json()["results"]
    assert [result["status"] for result in results] == [201, 201]
    assert [[award["member_id"] for award in result["awarded"]] for result in results] == [[ana["id"]], [ana["id"]]]
    assert api.get(f"/v1/members/{ana['id']}").get_json()["points"]["balance"] == 50 + 50 + 10 + 20


def test_the_duplicates_codes_are_listed_with_the_survivors(api, admin_api, db_backend):
    ana, dup = api.enroll(external_id="ana-codes"), api.enroll(external_id="ana-codes-old")
    api.purchase(dup["id"], 20_000)
    code = api.post(f"/v1/members/{dup['id']}/redemptions", {"reward_id": "free-drink"}).get_json()
    merged(admin_api, ana["id"], dup["id"])
    listed = api.get(f"/v1/members/{ana['id']}/redemptions").get_json()["data"]
    assert [redemption["code"] for redemption in listed] == [code["code"]]
