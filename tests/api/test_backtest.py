"""Backtests: candidate rules over recorded events, checked against a live replay under them."""

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from config import TestingConfig
from loyalty import create_app
from loyalty.extensions import db
from loyalty.models import Event, Lot, Member, TierChange
from tests.conftest import ApiClient, _create_key, _truncate_postgres

ROOT = Path(__file__).resolve().parents[2]
DEMO = (ROOT / "rules" / "program.yaml").read_text()


def _edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


CANDIDATE = DEMO
for _old, _new in [
    ("award: {points_per_dollar: 1}           # of the whole amount", "award: {points_per_dollar: 2}"),
    ("award: {points: 25}\n    limit: {count: 3, per: calendar_month}",
     "award: {points: 30}\n    limit: {count: 2, per: calendar_month}"),
    ("max_points: 2000", "max_points: 1000"),
    ("{id: silver, name: Silver, qualifying_points: 500", "{id: silver, name: Silver, qualifying_points: 300"),
    ("award: {points: 50}", "award: {points: 75}"),
]:
    CANDIDATE = _edit(CANDIDATE, _old, _new)

START, END = "2026-10-10T04:00:00Z", "2026-10-25T04:00:00Z"  # midnight to midnight, New York
COFFEE = [{"sku": "latte-l", "category": "coffee", "quantity": 2, "unit_amount": 450}]

#: (when, what, who, details): two weeks of a café, with history before the window and after it.
SCRIPT = [
    ("2026-10-01T14:00:00Z", "enroll", "alice", {"email": "alice@example.com", "email_opt_in": True}),
    ("2026-10-01T15:00:00Z", "enroll", "bob", {"email": "bob@example.com", "referred_by": "alice"}),
    ("2026-10-02T15:00:00Z", "purchase", "alice", {"amount": 40000}),
    ("2026-10-03T15:00:00Z", "review", "alice", {}),
    ("2026-10-04T15:00:00Z", "review", "alice", {}),
    ("2026-10-05T15:00:00Z", "enroll", "carol", {}),
    ("2026-10-11T15:00:00Z", "review", "alice", {}),
    ("2026-10-12T15:00:00Z", "purchase", "alice", {"amount": 20000, "items": COFFEE}),
    ("2026-10-12T16:00:00Z", "purchase", "bob", {"amount": 1500, "items": COFFEE}),
    ("2026-10-13T15:00:00Z", "purchase", "carol", {"amount": 300000}),
    ("2026-10-13T16:00:00Z", "purchase", "alice", {"amount": 10000}),
    ("2026-10-14T15:00:00Z", "enroll", "dave", {}),
    ("2026-10-14T16:00:00Z", "review", "dave", {}),
    ("2026-10-20T15:00:00Z", "purchase", "carol", {"amount": 100000}),
    ("2026-10-26T15:00:00Z", "purchase", "alice", {"amount": 5000}),
]


def play(api: ApiClient, admin_api: ApiClient, switch_to: str | None = None) -> dict[str, str]:
    """Run SCRIPT live at each step's time; publish ``switch_to`` at START. Returns name → member id."""
    ids, codes = {}, {}
    switched = switch_to is None
    for when, what, who, details in SCRIPT:
        if not switched and when >= START:
            with freeze_time(START):
                admin_api.publish_rules(switch_to, "candidate")
            switched = True
        with freeze_time(when):
            if what == "enroll":
                fields = dict(details)
                if "referred_by" in fields:
                    fields["referred_by"] = codes[fields["referred_by"]]
                member = api.enroll(external_id=who, **fields)
                ids[who], codes[who] = member["id"], member["referral_code"]
            elif what == "purchase":
                api.purchase(ids[who], details["amount"], items=details.get("items"))
            else:
                api.action(ids[who], what)
    return ids


def in_window(query):
    return query.join(Event, Lot.event_id == Event.id).where(Event.occurred_at >= _at(START),
                                                             Event.occurred_at < _at(END))


def _at(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def recorded(app) -> dict:
    """What the ledger holds for the window's events: points per rule and per member, tiers, moves."""
    with app.app_context():
        session = db.session
        by_rule = dict(session.execute(in_window(sa.select(Lot.rule_id, sa.func.sum(Lot.points)))
                                       .group_by(Lot.rule_id)).all())
        by_member = dict(session.execute(in_window(sa.select(Member.external_id, sa.func.sum(Lot.points))
                                                   .join(Member, Member.id == Lot.member_id))
                                         .group_by(Member.external_id)).all())
        tiers = dict(session.execute(sa.select(Member.external_id, Member.tier_id)).all())
        moves = sorted(session.execute(
            sa.select(TierChange.from_tier, TierChange.to_tier).join(Event, TierChange.event_id == Event.id)
            .where(Event.occurred_at >= _at(START), Event.occurred_at < _at(END))).all())
        db.session.remove()
    return {"by_rule": {k: int(v) for k, v in by_rule.items()},
            "by_member": {k: int(v) for k, v in by_member.items()}, "tiers": tiers, "moves": moves}


def run_backtest(admin_api: ApiClient, yaml: str, **extra):
    with freeze_time("2026-10-27T12:00:00Z"):
        response = admin_api.post("/v1/rules/backtest", {"yaml": yaml, "from": START, "to": END, **extra},
                                  idempotency_key=False)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def fresh_app(db_backend, database_url, sqlite_template, tmp_path, app):
    """Another app on an empty, migrated database (the same PostgreSQL database, emptied)."""
    def make():
        if db_backend == "postgres":
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            _truncate_postgres(database_url)
            url = database_url
        else:
            path = tmp_path / "replay.db"
            shutil.copy(sqlite_template, path)
            url = f"sqlite:///{path}"
        other = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
        with other.app_context():
            from loyalty.db.transactions import write_transaction
            from loyalty.services import rules as rules_service

            with freeze_time("2026-09-01T00:00:00Z"), write_transaction(db.session()):
                rules_service.publish(db.session(), DEMO, "tests")
            db.session.remove()
        client = other.test_client()
        return other, ApiClient(client, _create_key(other, "till", "pos")), \
            ApiClient(client, _create_key(other, "admin", "admin"))

    made = []
    yield lambda: made.append(make()) or made[-1]
    for other, *_ in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def test_backtest_equals_a_live_replay_under_the_candidate_rules(app, api, admin_api, fresh_app):
    play(api, admin_api)
    actual = recorded(app)
    report = run_backtest(admin_api, CANDIDATE, top=100)

    assert {r["rule_id"]: r["actual_points"] for r in report["rules"] if r["actual_points"]} == actual["by_rule"]
    assert report["totals"]["actual_points"] == sum(actual["by_rule"].values())

    other, other_api, other_admin = fresh_app()
    play(other_api, other_admin, switch_to=CANDIDATE)
    replayed = recorded(other)

    assert {r["rule_id"]: r["candidate_points"] for r in report["rules"] if r["candidate_points"]} \
        == replayed["by_rule"]
    assert report["totals"]["candidate_points"] == sum(replayed["by_rule"].values())
    assert report["totals"]["difference"] != 0, "the candidate should change the figures"
    assert report["totals"]["candidate_liability"] == report["totals"]["candidate_points"]  # 1 point = 1 cent
    affected = {m["external_id"]: m for m in report["members_most_affected"]}
    for name, points in replayed["by_member"].items():
        if name in affected:
            assert affected[name]["candidate_points"] == points
            assert affected[name]["candidate_tier"] == replayed["tiers"][name]
        else:
            assert actual["by_member"].get(name, 0) == points
    moves = sorted((m["from_tier"], m["to_tier"]) for m in report["tier_moves"] for _ in range(m["candidate"]))
    assert moves == replayed["moves"]
    assert sorted((m["from_tier"], m["to_tier"]) for m in report["tier_moves"]
                  for _ in range(m["actual"])) == actual["moves"]


def test_backtesting_the_active_rules_changes_nothing(api, admin_api, db_backend):
    play(api, admin_api)
    report = run_backtest(admin_api, DEMO)
    assert report["events"] == 8
    assert report["totals"]["actual_points"] > 0
    assert [r["difference"] for r in report["rules"]] == [0] * len(report["rules"])
    assert report["members_affected"] == 0 and report["members_most_affected"] == []
    assert all(m["actual"] == m["candidate"] for m in report["tier_moves"])


def test_backtest_reports_the_members_most_affected_first_and_writes_nothing(app, api, admin_api):
    play(api, admin_api)
    before = recorded(app)
    report = run_backtest(admin_api, CANDIDATE, top=2)
    assert len(report["members_most_affected"]) == 2
    first, second = report["members_most_affected"]
    assert abs(first["difference"]) >= abs(second["difference"]) > 0
    assert report["members_affected"] >= 2
    review = next(r for r in report["rules"] if r["rule_id"] == "review")
    assert (review["actual_points"], review["candidate_points"]) == (50, 30)  # limit of 2 a month was used
    assert recorded(app) == before
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 16
        db.session.remove()


def test_a_rule_the_candidate_drops_shows_what_it_gave(api, admin_api):
    play(api, admin_api)
    without_reviews = DEMO[:DEMO.index("  - id: review")]
    report = run_backtest(admin_api, without_reviews)
    review = next(r for r in report["rules"] if r["rule_id"] == "review")
    assert review["in_candidate"] is False
    assert review["candidate_points"] == 0 and review["difference"] == -review["actual_points"] < 0


@pytest.mark.parametrize("body, field", [
    ({"from": END, "to": START}, "to"),
    ({"from": "2025-01-01T00:00:00Z", "to": END}, "to"),
    ({"from": "2026-10-10", "to": END}, "from"),
    ({"to": END}, "from"),
])
def test_a_bad_window_is_a_validation_error(admin_api, body, field):
    response = admin_api.post("/v1/rules/backtest", {"yaml": DEMO, **body}, idempotency_key=False)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and field in error["details"]["fields"]


def test_backtest_rejects_invalid_rules_and_needs_an_admin_key(api, admin_api):
    response = admin_api.post("/v1/rules/backtest", {"yaml": "rules: [", "from": START, "to": END},
                              idempotency_key=False)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "rules_invalid"
    response = api.post("/v1/rules/backtest", {"yaml": DEMO, "from": START, "to": END}, idempotency_key=False)
    assert response.status_code == 403
