"""POST /v1/events/batch: each event accrued as if posted alone, answered in the order sent."""

import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from loyalty.extensions import db
from loyalty.ledger.verify import verify_ledger
from loyalty.models import Event, LedgerEntry, Lot, Member, MemberBadge, MemberDay, MemberStreak, RuleUsage
from tests.unit.test_engine_streaks import TEXT as STREAKS_TEXT

NOW = datetime(2026, 11, 16, 17, 0, tzinfo=UTC)  # a quiet Monday: no holiday-double


def at(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def purchase(member_id, amount, source_id=None, occurred_at=None, **fields):
    body = {"type": "purchase", "member_id": member_id, "amount": amount, "currency": "USD",
            "source_id": source_id or uuid.uuid4().hex, **fields}
    if occurred_at is not None:
        body["occurred_at"] = at(occurred_at)
    return body


def review(member_id, occurred_at, source_id=None):
    return {"type": "review", "member_id": member_id, "source_id": source_id or uuid.uuid4().hex,
            "occurred_at": at(occurred_at), "attributes": {"stars": 5}}


def post_batch(api, events, idempotency_key=None):
    return api.post("/v1/events/batch", {"events": events}, idempotency_key=idempotency_key)


def recorded_events() -> int:
    """Events other than enrolments (which record one each)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Event).where(Event.type != "enrolled"))


@pytest.fixture
def frozen():
    with freeze_time(NOW):
        yield


def test_each_event_gets_its_result_in_the_order_sent(api, db_backend, frozen):
    ana, ben = api.enroll(), api.enroll()
    events = [purchase(ana["id"], 1250), purchase(ben["id"], 2000),
              {"type": "review", "external_id": ana["external_id"], "source_id": "review-1"}]
    response = post_batch(api, events)
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2]
    assert [r["status"] for r in results] == [201, 201, 201]
    assert [a["points"] for a in results[0]["awarded"]] == [12]
    assert [a["points"] for a in results[1]["awarded"]] == [20]
    assert [(a["rule_id"], a["points"]) for a in results[2]["awarded"]] == [("review", 25)]
    assert results[0]["event"]["source_id"] == events[0]["source_id"]
    assert {e["rule_id"] for e in results[0]["explanation"]} >= {"spend", "coffee-bonus"}
    assert api.member(ana["id"])["points"]["balance"] == 50 + 12 + 25
    assert api.member(ben["id"])["points"]["balance"] == 50 + 20


def test_bad_events_each_get_their_own_422_and_the_others_are_recorded(api, app, db_backend, frozen):
    ana = api.enroll()
    events = [
        purchase(ana["id"], -5),
        purchase(ana["id"], 1000),
        {"type": "purchase", "member_id": ana["id"], "amount": 100, "currency": "USD"},
        purchase(ana["id"], 100, currency="EUR"),
        "not an object",
        purchase(ana["id"], 100, occurred_at=NOW + timedelta(hours=1)),
        purchase(ana["id"], 100, colour="red"),
    ]
    results = post_batch(api, events).get_json()["results"]
    assert [r["status"] for r in results] == [422, 201, 422, 422, 422, 422, 422]
    fields = [set(r["error"]["details"].get("fields", {})) if r["status"] == 422 else None for r in results]
    assert fields == [{"amount"}, None, {"source_id"}, {"currency"}, {"_schema"}, {"occurred_at"}, {"colour"}]
    assert all(r["error"]["code"] == "validation_error" for r in results if r["status"] == 422)
    assert "event" not in results[0] and "awarded" not in results[0]
    with app.app_context():
        assert recorded_events() == 1


def test_unknown_member_is_404_for_that_event_alone(api, db_backend, frozen):
    ana = api.enroll()
    results = post_batch(api, [purchase("mem_nobody", 1000), purchase(ana["id"], 1000),
                               {"type": "review", "external_id": "nobody", "source_id": "r-1"}]).get_json()["results"]
    assert [r["status"] for r in results] == [404, 201, 404]
    assert results[0]["error"]["code"] == "not_found"
    assert "nobody" in results[2]["error"]["message"]


def test_duplicate_source_id_is_409_for_that_event_alone(api, app, db_backend, frozen):
    ana = api.enroll()
    earlier = api.purchase(ana["id"], 500, source_id="till-1/order-1")
    assert earlier["awarded"][0]["points"] == 5
    events = [purchase(ana["id"], 1000, "till-1/order-1"), purchase(ana["id"], 2000, "till-1/order-2"),
              purchase(ana["id"], 3000, "till-1/order-2"), purchase(ana["id"], 4000, "till-1/order-3")]
    results = post_batch(api, events).get_json()["results"]
    assert [r["status"] for r in results] == [409, 201, 409, 201]
    assert {results[0]["error"]["code"], results[2]["error"]["code"]} == {"idempotency_conflict"}
    assert results[2]["error"]["details"] == {"source_id": "till-1/order-2"}
    assert api.member(ana["id"])["points"]["balance"] == 50 + 5 + 20 + 40
    with app.app_context():
        assert recorded_events() == 3


def test_an_event_failing_when_applied_writes_nothing_and_the_others_are_recorded_once(
        api, app, db_backend, frozen, monkeypatch):
    """A source_id recorded after the batch's checks (by a racing request) fails when its event row
    is written: the batch then runs again event by event."""
    from loyalty.services import event_batch

    ana, ben = api.enroll(), api.enroll()
    api.purchase(ana["id"], 500, source_id="raced")
    monkeypatch.setattr(event_batch, "_recorded_source_ids", lambda session, source_ids: set())
    events = [purchase(ben["id"], 1000, occurred_at=NOW - timedelta(hours=2)),
              purchase(ana["id"], 2000, "raced", occurred_at=NOW - timedelta(hours=1)),
              purchase(ana["id"], 3000), review(ben["id"], NOW)]
    results = post_batch(api, events).get_json()["results"]
    assert [r["status"] for r in results] == [201, 409, 201, 201]
    assert results[1]["error"]["code"] == "idempotency_conflict"
    assert api.member(ana["id"])["points"]["balance"] == 50 + 5 + 30
    assert api.member(ben["id"])["points"]["balance"] == 50 + 10 + 25
    with app.app_context():
        assert recorded_events() == 4
        assert verify_ledger(db.session()) == []


def test_a_source_id_whose_event_was_rejected_may_come_again_in_the_batch(api, db_backend, frozen):
    ana = api.enroll()
    results = post_batch(api, [purchase("mem_nobody", 1000, "order-5"),
                               purchase(ana["id"], 1000, "order-5")]).get_json()["results"]
    assert [r["status"] for r in results] == [404, 201]


def test_a_later_single_post_of_a_batch_source_id_is_409(api, db_backend, frozen):
    ana = api.enroll()
    assert post_batch(api, [purchase(ana["id"], 1000, "order-9")]).get_json()["results"][0]["status"] == 201
    response = api.post("/v1/events", purchase(ana["id"], 1000, "order-9"))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "idempotency_conflict"


def test_a_members_events_are_accrued_in_occurred_at_order(api, db_backend, frozen):
    """Sent late first: the earlier reviews take the month's 3, the latest gets nothing."""
    ana = api.enroll()
    days = [NOW - timedelta(days=d) for d in (1, 5, 4, 3)]
    results = post_batch(api, [review(ana["id"], day) for day in days]).get_json()["results"]
    assert [sum(a["points"] for a in r["awarded"]) for r in results] == [0, 25, 25, 25]


def test_more_than_1000_events_is_413_naming_the_limit(api, app, db_backend, frozen):
    ana = api.enroll()
    response = post_batch(api, [purchase(ana["id"], 100) for _ in range(1001)])
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "payload_too_large"
    assert "1,000" in error["message"] and error["details"]["limit"] == 1000
    with app.app_context():
        assert recorded_events() == 0


def test_a_full_batch_of_1000_events_with_items_fits_the_body_limit(api, app, db_backend, frozen):
    ana = api.enroll()
    items = [{"sku": f"sku-{n}", "category": "coffee", "quantity": 1, "unit_amount": 100} for n in range(3)]
    events = [purchase(ana["id"], 300, items=items, occurred_at=NOW - timedelta(minutes=n)) for n in range(1000)]
    assert len(json.dumps({"events": events})) > app.config["MAX_CONTENT_LENGTH"]
    response = post_batch(api, events)
    assert response.status_code == 200, response.get_json()
    assert {r["status"] for r in response.get_json()["results"]} == {201}


def test_other_requests_keep_the_smaller_body_limit(api, app, db_backend):
    body = purchase("mem_x", 100, attributes={"note": "x" * app.config["MAX_CONTENT_LENGTH"]})
    assert api.post("/v1/events", body).status_code == 413


def test_replay_with_the_same_key_and_body_answers_the_same_and_doubles_nothing(api, app, db_backend, frozen):
    ana = api.enroll()
    events = [purchase(ana["id"], 1000), purchase("mem_nobody", 1000), review(ana["id"], NOW)]
    first = post_batch(api, events, idempotency_key="batch-1")
    again = post_batch(api, events, idempotency_key="batch-1")
    assert first.status_code == again.status_code == 200
    assert again.get_data() == first.get_data()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert api.member(ana["id"])["points"]["balance"] == 50 + 10 + 25
    other = post_batch(api, events[:1], idempotency_key="batch-1")
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "idempotency_conflict"
    with app.app_context():
        assert recorded_events() == 2


def test_a_batch_needs_an_idempotency_key_and_the_pos_scope(api, app, db_backend):
    response = api.client.post("/v1/events/batch", json={"events": []},
                               headers={"Authorization": f"Bearer {api.key}"})
    assert response.status_code == 400
    assert api.client.post("/v1/events/batch", json={"events": []}).status_code == 401
    assert post_batch(api, []).get_json() == {"results": []}


def test_a_batch_without_events_or_with_other_fields_is_422(api, db_backend):
    assert api.post("/v1/events/batch", {}).status_code == 422
    assert api.post("/v1/events/batch", {"events": [], "extra": 1}).status_code == 422


def test_a_suspended_member_is_409_for_their_events(api, db_backend, frozen):
    ana = api.enroll()
    assert api.patch(f"/v1/members/{ana['id']}", {"status": "suspended"}).status_code == 200
    result = post_batch(api, [purchase(ana["id"], 1000)]).get_json()["results"][0]
    assert (result["status"], result["error"]["code"]) == (409, "member_inactive")


# --------------------------------------------------------------------------- equivalence


def _random_events(rng: random.Random, members: list[str], count: int) -> list[dict]:
    """Purchases with items and reviews (3 a calendar month) spread over the last 60 days."""
    events = []
    for n in range(count):
        member = rng.choice(members)
        occurred_at = NOW - timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 600))
        if rng.random() < 0.35:
            events.append(review(member, occurred_at, source_id=f"e{n}"))
            continue
        items = [{"sku": f"s{k}", "category": rng.choice(["coffee", "tea", "food"]),
                  "quantity": rng.randint(1, 3), "unit_amount": rng.randint(100, 900)}
                 for k in range(rng.randint(0, 3))]
        amount = sum(i["quantity"] * i["unit_amount"] for i in items) or rng.randint(100, 40000)
        events.append(purchase(member, amount, f"e{n}", occurred_at, items=items))
    return events


def _member_state(session, member_id: str) -> dict:
    member = session.get(Member, member_id)
    entries = session.execute(sa.select(LedgerEntry.type, LedgerEntry.points, LedgerEntry.balance_after,
                                        LedgerEntry.rule_id, LedgerEntry.expires_at)
                              .where(LedgerEntry.member_id == member_id).order_by(LedgerEntry.seq)).all()
    lots = session.execute(sa.select(Lot.rule_id, Lot.points, Lot.remaining, Lot.status, Lot.available_at,
                                     Lot.expires_at).where(Lot.member_id == member_id)).all()
    usage = session.execute(sa.select(RuleUsage.counter_id, RuleUsage.period_key, RuleUsage.used)
                            .where(RuleUsage.member_id == member_id)).all()
    days = session.execute(sa.select(MemberDay.day, MemberDay.qualifying_points, MemberDay.usage)
                           .where(MemberDay.member_id == member_id)).all()
    streaks = session.execute(sa.select(MemberStreak.streak_id, MemberStreak.current, MemberStreak.run,
                                        MemberStreak.best, MemberStreak.completed, MemberStreak.last_period)
                              .where(MemberStreak.member_id == member_id)).all()
    badges = session.scalars(sa.select(MemberBadge.badge_id).where(MemberBadge.member_id == member_id)).all()
    return {
        "totals": (member.balance, member.pending, member.lifetime_earned, member.tier_id, member.tier_since,
                   member.tier_expires_at, member.purchase_count, member.first_purchase_at,
                   member.last_purchase_at, member.lifecycle_stage, member.referrals_earned),
        # Entries in their own order would differ only in how same-instant events of two members
        # interleave; each member's own sequence is compared, so balance_after must match too.
        "entries": [tuple(e) for e in entries],
        "lots": sorted(tuple(map(str, lot)) for lot in lots),
        "usage": sorted(tuple(u) for u in usage),
        "days": sorted(tuple(map(str, d)) for d in days),
        "streaks": sorted(tuple(map(str, s)) for s in streaks),
        "badges": sorted(badges),
    }


@pytest.mark.parametrize(("seed", "rules"), [(1, None), (2, None), (3, STREAKS_TEXT)])
def test_singly_and_in_shuffled_batches_give_the_same_ledgers(api, app, admin_api, db_backend, frozen, seed, rules):
    """Two twin sets of members, one fed event by event (in occurred_at order), the other the same
    events shuffled, in one batch per referral chain; every member ends as its twin (with the
    streaks fixture's program: their streaks and badges too).

    A chain stays in one batch: a referred member's purchase credits the referrer, whose
    entries' order (and balance_after) depends on when that purchase is accrued.
    """
    rng = random.Random(seed)
    size = 8
    if rules is not None:
        admin_api.publish_rules(rules, "streaks")

    def enroll_set(tag):
        people = []
        for n in range(size):
            referrer = people[n - 1] if n % 4 else None
            fields = {"referred_by": referrer["referral_code"]} if referrer else {}
            people.append(api.enroll(f"{tag}-{seed}-{n}", email=f"{tag}{n}@example.com", **fields))
        return [p["id"] for p in people]

    singles, batched = enroll_set("single"), enroll_set("batch")
    events = _random_events(rng, singles, 90)
    for body in sorted(events, key=lambda e: e["occurred_at"]):
        response = api.post("/v1/events", body)
        assert response.status_code == 201, response.get_json()

    twin = dict(zip(singles, batched, strict=True))
    groups = [batched[0:4], batched[4:8]]  # referral chains 0-1-2-3 and 4-5-6-7 stay together
    rng.shuffle(groups)
    for group in groups:
        theirs = [{**e, "member_id": twin[e["member_id"]], "source_id": "b-" + e["source_id"]}
                  for e in events if twin[e["member_id"]] in group]
        rng.shuffle(theirs)
        results = post_batch(api, theirs).get_json()["results"]
        assert [r["status"] for r in results] == [201] * len(theirs)
    with app.app_context():
        session = db.session()
        for single, batch in twin.items():
            assert _member_state(session, batch) == _member_state(session, single)
        if rules is not None:  # the events did complete streaks
            assert any(int(s[4]) for m in singles for s in _member_state(session, m)["streaks"])
        assert verify_ledger(session) == []
