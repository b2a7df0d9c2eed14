"""A backtest of candidate challenges and streaks equals a live replay of the same events into a fresh
database: each starts the window as the events before it left it."""

import sqlalchemy as sa
from freezegun import freeze_time

from loyalty.extensions import db
from loyalty.models import ChallengeCompletion, Event, Lot, StreakEntry
from tests.api.test_backtest import DEMO, END, START, _at, _edit, fresh_app, run_backtest  # noqa: F401
from tests.conftest import ApiClient

LATTE = [{"sku": "latte-l", "category": "coffee", "quantity": 1, "unit_amount": 450}]
MUFFIN = [{"sku": "muffin", "category": "pastry", "quantity": 1, "unit_amount": 350}]
PROGRESS = """badges:
  - id: pair
    name: Two days running
challenges:
  - id: three-visits
    name: Three visits a week
    goal: {count: 3}
    within: {days: 7}
    award: {points: 30}
    repeat: true
streaks:
  - id: weekly
    name: Weekly coffee
    where: {category: coffee}
    period: week
    length: 3
    award: {points: 50}

"""
ACTUAL = _edit(DEMO, "# Earning rules.", PROGRESS + "# Earning rules.")
#: Two visits complete the challenge, two weeks the (now repeating) streak, and two days running give a badge.
CANDIDATE = _edit(_edit(ACTUAL, "goal: {count: 3}", "goal: {count: 2}"),
                        "    length: 3\n    award: {points: 50}\n", "    length: 2\n    award: {points: 50}\n"
                        "    repeat: true\n  - id: daily-pair\n    name: Two days running\n    period: day\n"
                        "    length: 2\n    award: {badge: pair}\n")

#: (when, who, items): a pastry and coffees before the window (challenge entries and weeks that carry in: the
#: week of 5 October counts for the streaks only through them), the next weeks, two days running for each,
#: and a coffee after the window.
SCRIPT = [
    ("2026-10-02T15:00:00Z", "alice", MUFFIN),
    ("2026-10-07T15:00:00Z", "bob", LATTE),
    ("2026-10-08T15:00:00Z", "alice", LATTE),
    ("2026-10-10T15:00:00Z", "alice", MUFFIN),
    ("2026-10-12T15:00:00Z", "alice", LATTE),
    ("2026-10-13T15:00:00Z", "alice", LATTE),
    ("2026-10-14T15:00:00Z", "bob", LATTE),
    ("2026-10-15T15:00:00Z", "bob", LATTE + MUFFIN),
    ("2026-10-20T15:00:00Z", "alice", LATTE),
    ("2026-10-26T15:00:00Z", "alice", LATTE),
]


def play(api: ApiClient, admin_api: ApiClient, switch_to: str | None = None) -> None:
    with freeze_time("2026-10-01T14:00:00Z"):
        admin_api.publish_rules(ACTUAL, "actual")
        ids = {name: api.enroll(external_id=name)["id"] for name in ("alice", "bob")}
    switched = switch_to is None
    for when, who, items in SCRIPT:
        if not switched and when >= START:
            with freeze_time(START):
                admin_api.publish_rules(switch_to, "candidate")
            switched = True
        with freeze_time(when):
            api.purchase(ids[who], sum(i["unit_amount"] for i in items), items=items)


def recorded(app) -> dict:
    """Completions the window's events gave, per challenge and streak, and points per rule."""
    window = (Event.occurred_at >= _at(START), Event.occurred_at < _at(END))
    with app.app_context():
        challenges = db.session.execute(
            sa.select(ChallengeCompletion.challenge_id, sa.func.count())
            .join(Event, ChallengeCompletion.event_id == Event.id).where(*window)
            .group_by(ChallengeCompletion.challenge_id)).all()
        streaks = db.session.execute(
            sa.select(StreakEntry.streak_id, sa.func.count()).join(Event, StreakEntry.event_id == Event.id)
            .where(*window, StreakEntry.completes).group_by(StreakEntry.streak_id)).all()
        points = db.session.execute(sa.select(Lot.rule_id, sa.func.sum(Lot.points))
                                    .join(Event, Lot.event_id == Event.id).where(*window).group_by(Lot.rule_id)).all()
        db.session.remove()
    return {"challenges": {k: int(n) for k, n in challenges}, "streaks": {k: int(n) for k, n in streaks},
            "points": {k: int(n) for k, n in points}}


def completed(report, kind, key, side):
    return {line[key]: line[f"{side}_completed"] for line in report[kind] if line[f"{side}_completed"]}


def test_backtest_of_candidate_challenges_and_streaks_equals_a_live_replay(app, api, admin_api, fresh_app,  # noqa: F811
                                                                            db_backend):
    play(api, admin_api)
    actual = recorded(app)
    # alice: three visits in seven days on the 12th (8th, 10th, 12th), three weeks on the 20th
    assert (actual["challenges"], actual["streaks"]) == ({"three-visits": 1}, {"weekly": 1})
    report = run_backtest(admin_api, CANDIDATE)
    assert completed(report, "challenges", "challenge_id", "actual") == actual["challenges"]
    assert completed(report, "streaks", "streak_id", "actual") == actual["streaks"]

    other, other_api, other_admin = fresh_app()
    play(other_api, other_admin, switch_to=CANDIDATE)
    replayed = recorded(other)
    # two visits: alice on the 10th (with the 8th) and the 13th, bob on the 15th; two weeks: alice on the 12th
    # (with the 8th), bob on the 14th (with the 7th); two days running: alice on the 13th, bob on the 15th
    assert replayed["challenges"] == {"three-visits": 3}
    assert replayed["streaks"] == {"weekly": 2, "daily-pair": 2}
    assert completed(report, "challenges", "challenge_id", "candidate") == replayed["challenges"]
    assert completed(report, "streaks", "streak_id", "candidate") == replayed["streaks"]
    assert {r["rule_id"]: r["candidate_points"] for r in report["rules"] if r["candidate_points"]} \
        == replayed["points"]
    assert [line["in_candidate"] for line in report["streaks"]] == [True, True]
