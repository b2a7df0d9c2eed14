"""A backtest of candidate stamp cards equals a live replay of the same events into a fresh database."""

import sqlalchemy as sa
from freezegun import freeze_time

from loyalty.extensions import db
from loyalty.models import CardStamp, Event, Lot
from tests.api.test_backtest import DEMO, END, START, _at, _edit, fresh_app, run_backtest  # noqa: F401
from tests.conftest import ApiClient

LATTE = [{"sku": "latte-l", "category": "coffee", "quantity": 1, "unit_amount": 450}]
MUFFIN = [{"sku": "muffin", "category": "pastry", "quantity": 1, "unit_amount": 350}]
#: The coffee card completes with 3 stamps instead of 9, and a pastry card (one stamp a visit, 2 of them
#: give 40 points) is new.
CANDIDATE = _edit(DEMO, "    stamps: 9\n    reward: free-drink\n", """    stamps: 3
    reward: free-drink
  - id: pastry-card
    name: Pastry card
    stamp: {where: {category: pastry}, per: visit}
    stamps: 2
    points: 40
""")

#: (when, who, amount, items): coffee before the window (a stamp that carries in), two coffees the same
#: New York day (one stamp), pastries on one day (a stamp each, per visit), and after the window.
SCRIPT = [
    ("2026-10-02T15:00:00Z", "alice", 450, LATTE),
    ("2026-10-11T15:00:00Z", "alice", 450, LATTE),
    ("2026-10-12T15:00:00Z", "alice", 900, LATTE + MUFFIN),
    ("2026-10-12T20:00:00Z", "alice", 450, LATTE),
    ("2026-10-13T03:30:00Z", "alice", 350, MUFFIN),        # 23:30 on the 12th in New York
    ("2026-10-13T15:00:00Z", "alice", 450, LATTE),
    ("2026-10-14T15:00:00Z", "bob", 450, LATTE),
    ("2026-10-15T15:00:00Z", "bob", 800, LATTE + MUFFIN),
    ("2026-10-16T15:00:00Z", "bob", 450, LATTE),
    ("2026-10-17T15:00:00Z", "bob", 0, LATTE),             # amount 0: no stamp
    ("2026-10-26T15:00:00Z", "alice", 450, LATTE),
]


def play(api: ApiClient, admin_api: ApiClient, switch_to: str | None = None) -> None:
    ids = {}
    with freeze_time("2026-10-01T14:00:00Z"):
        for name in ("alice", "bob"):
            ids[name] = api.enroll(external_id=name)["id"]
    switched = switch_to is None
    for when, who, amount, items in SCRIPT:
        if not switched and when >= START:
            with freeze_time(START):
                admin_api.publish_rules(switch_to, "candidate")
            switched = True
        with freeze_time(when):
            api.purchase(ids[who], amount, items=items)


def recorded(app) -> dict:
    """Stamps and completions the window's events gave, per card, and points per rule."""
    window = (Event.occurred_at >= _at(START), Event.occurred_at < _at(END))
    with app.app_context():
        stamps = db.session.execute(
            sa.select(CardStamp.card_id, sa.func.count(), sa.func.sum(sa.case((CardStamp.completes, 1), else_=0)))
            .join(Event, CardStamp.event_id == Event.id).where(*window).group_by(CardStamp.card_id)).all()
        points = dict(db.session.execute(sa.select(Lot.rule_id, sa.func.sum(Lot.points))
                                         .join(Event, Lot.event_id == Event.id).where(*window)
                                         .group_by(Lot.rule_id)).all())
        db.session.remove()
    return {"cards": {card_id: (int(count), int(completed)) for card_id, count, completed in stamps},
            "points": {rule_id: int(total) for rule_id, total in points.items()}}


def test_backtest_of_candidate_cards_equals_a_live_replay(app, api, admin_api, fresh_app, db_backend):  # noqa: F811
    play(api, admin_api)
    actual = recorded(app)
    assert actual["cards"] == {"coffee-card": (6, 0)}
    report = run_backtest(admin_api, CANDIDATE)
    cards = {line["card_id"]: line for line in report["cards"]}
    assert {card_id: (line["actual_stamps"], line["actual_completed"]) for card_id, line in cards.items()
            if line["actual_stamps"]} == actual["cards"]

    other, other_api, other_admin = fresh_app()
    play(other_api, other_admin, switch_to=CANDIDATE)
    replayed = recorded(other)
    # coffee, alice: 1 carried in, 2 and 3 (complete) on the 11th and 12th, 1 on the 13th; bob: 1, 2, 3 (complete);
    # pastry: alice 1, 2 (complete, 40 points) on the 12th, bob 1
    assert replayed["cards"] == {"coffee-card": (6, 2), "pastry-card": (3, 1)}
    assert {card_id: (line["candidate_stamps"], line["candidate_completed"]) for card_id, line in cards.items()
            if line["candidate_stamps"]} == replayed["cards"]
    assert {r["rule_id"]: r["candidate_points"] for r in report["rules"] if r["candidate_points"]} \
        == replayed["points"]
    assert replayed["points"]["pastry-card"] == 40
