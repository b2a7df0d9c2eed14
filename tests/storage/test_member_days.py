"""A member-day's qualifying points and day counters are one row (``member_days``, migration 0015).

Increments add up in SQL, key by key, whichever way they are written (an
accrual, a refund).
Rows an older release writes in the old tables during a rolling upgrade are
moved by the migration, then by every ``purge-counters`` run.
"""

from datetime import date

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from freezegun import freeze_time

from loyalty.db.transactions import write_transaction
from loyalty.extensions import db
from loyalty.models import MemberDay, QualifyingPoints, RuleUsage
from loyalty.services import counters
from tests.storage.legacy_rows import insert_member
from tests.test_migrations import MIGRATIONS, empty_database_url, migration_app  # noqa: F401

COFFEE = {"sku": "latte", "category": "coffee", "quantity": 2, "unit_amount": 450}
CAP = "cap:purchase-daily"


def member_days(app, member_id: str) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(sa.select(MemberDay.day, MemberDay.qualifying_points, MemberDay.usage)
                                  .where(MemberDay.member_id == member_id).order_by(MemberDay.day)).all()
        db.session.remove()
    return [(day, points, counters.day_counters(usage, "")) for day, points, usage in rows]


def legacy_rows(app) -> int:
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(QualifyingPoints)) + db.session.scalar(
            sa.select(sa.func.count()).select_from(RuleUsage).where(sa.func.length(RuleUsage.period_key) == 10))
        db.session.remove()
    return count


def test_a_member_days_purchases_add_up_in_one_row_and_the_next_day_is_another(app, api, db_backend):
    with freeze_time("2026-11-24T15:00:00Z"):
        member_id = api.enroll()["id"]
        api.purchase(member_id, 1250, items=[COFFEE])  # spend 12 + coffee-bonus 9
        api.purchase(member_id, 1000)
    with freeze_time("2026-11-25T15:00:00Z"):
        api.purchase(member_id, 500)
    assert member_days(app, member_id) == [
        (date(2026, 11, 24), 31, {(CAP, ""): 31}), (date(2026, 11, 25), 5, {(CAP, ""): 5})]
    assert legacy_rows(app) == 0


@freeze_time("2026-11-24T15:00:00Z")
def test_the_daily_cap_counts_across_purchases_of_the_day(app, api, db_backend):
    member_id = api.enroll()["id"]
    first = api.purchase(member_id, 150000)  # 1,500 points
    second = api.purchase(member_id, 100000)  # 1,000 more would pass the 2,000 cap
    assert sum(a["points"] for a in first["awarded"]) == 1500
    assert sum(a["points"] for a in second["awarded"]) == 500
    assert member_days(app, member_id)[0][1:] == (2000, {(CAP, ""): 2000})


def test_increments_add_to_a_days_counters_key_by_key(app, api, db_backend):
    member_id = api.enroll()["id"]
    with app.app_context():
        session = db.session()
        for increments in ([(member_id, "cap:a", "2026-11-24", 5), (member_id, "rule:b", "2026-11-24", 1)],
                           [(member_id, "cap:a", "2026-11-24", 3), (member_id, "cap:c", "2026-11-24", 7),
                            (member_id, "rule:b", "2026-W48", 1)]):
            with write_transaction(session):
                counters.add_usages(session, increments)
        with write_transaction(session):
            counters.add_qualifying(session, member_id, date(2026, 11, 24), -4)  # as a refund does
        keys = [("cap:a", "2026-11-24"), ("rule:b", "2026-W48")]
        with write_transaction(session):
            assert counters.usage_for(session, member_id, keys) == {
                ("cap:a", "2026-11-24"): 8, ("rule:b", "2026-11-24"): 1, ("cap:c", "2026-11-24"): 7,
                ("rule:b", "2026-W48"): 1}
            assert counters.counters_of(session, member_id) == {
                ("rule:welcome", "ever"): 1, ("cap:a", "2026-11-24"): 8, ("rule:b", "2026-11-24"): 1,
                ("cap:c", "2026-11-24"): 7, ("rule:b", "2026-W48"): 1}
        db.session.remove()
    assert member_days(app, member_id) == [
        (date(2026, 11, 24), -4, {("cap:a", ""): 8, ("rule:b", ""): 1, ("cap:c", ""): 7})]


def test_migration_0015_moves_the_day_counters_and_its_downgrade_puts_them_back(migration_app):  # noqa: F811
    upgrade(directory=MIGRATIONS, revision="0014")
    legacy = {"qualifying_points": [("mem_1", "2026-11-23", 12), ("mem_1", "2026-11-24", 30)],
              "rule_usage": [("mem_1", CAP, "2026-11-24", 30), ("mem_1", "rule:review", "2026-11-24", 2),
                             ("mem_1", "rule:review", "2026-11", 3), ("mem_1", "rule:welcome", "ever", 1)]}

    def rows() -> dict[str, list]:
        with db.engine.connect() as connection:
            return {"qualifying_points": sorted((m, str(d), p) for m, d, p in connection.execute(
                        sa.text("SELECT member_id, day, points FROM qualifying_points"))),
                    "rule_usage": sorted(tuple(row) for row in connection.execute(
                        sa.text("SELECT member_id, counter_id, period_key, used FROM rule_usage")))}

    with db.engine.begin() as connection:
        insert_member(connection)
        connection.execute(sa.text("INSERT INTO qualifying_points (member_id, day, points) VALUES (:m, :d, :p)"),
                           [{"m": m, "d": date.fromisoformat(d), "p": p} for m, d, p in legacy["qualifying_points"]])
        connection.execute(sa.text("INSERT INTO rule_usage (member_id, counter_id, period_key, used)"
                                   " VALUES (:m, :c, :k, :u)"),
                           [{"m": m, "c": c, "k": k, "u": u} for m, c, k, u in legacy["rule_usage"]])
    before = rows()

    upgrade(directory=MIGRATIONS, revision="0015")
    assert member_days(migration_app, "mem_1") == [
        (date(2026, 11, 23), 12, {}), (date(2026, 11, 24), 30, {(CAP, ""): 30, ("rule:review", ""): 2})]
    assert rows() == {"qualifying_points": [], "rule_usage": sorted(
        row for row in legacy["rule_usage"] if len(row[2]) != 10)}

    downgrade(directory=MIGRATIONS, revision="0014")
    assert rows() == before
    with db.engine.connect() as connection:
        assert "member_days" not in sa.inspect(connection).get_table_names()
