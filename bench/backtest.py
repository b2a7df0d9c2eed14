"""A backtest on a year of purchases, with and without an index of lots by event.

Migration 0016 dropped ``ix_lots_event_id``: a backtest now finds the lots
of its window's events among the lots of the members involved. This
measures what that costs. The set-up is bench/http_load.py's (the demo
rules, 10,000 members), then ``--events`` purchases written in SQL, evenly
over the last year, each with a spend lot and a coffee-bonus
lot. The demo rules are backtested against themselves over windows of 1, 7
and 30 days (best of 3), then the index is created, the same is timed
again, and the index is dropped.

Run: .venv/bin/python bench/backtest.py [--url postgresql+psycopg://…/loyalty_bench_backtest] [--events 300000]
(the database is dropped and created afresh).
"""

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.databases import recreate_postgres  # noqa: E402
from bench.http_load import prepare_service  # noqa: E402
from config import ProductionConfig  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/loyalty_bench_backtest"
WINDOWS = (1, 7, 30)

PURCHASES = sa.text(
    "INSERT INTO events (id, member_id, type, occurred_at, recorded_at, amount, currency, rules_version,"
    " explanation, refundable_points, refunded_amount, reversed_points)"
    " SELECT 'evt_bench' || g, m.id, 'purchase', :first + g * :step * interval '1 second',"
    " :first + g * :step * interval '1 second', 1250, 'USD', 1, '[]', 21, 0, 0"
    " FROM generate_series(1, CAST(:events AS bigint)) g"
    " JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM members) m ON m.n = 1 + (g * 7919) % :members")
LOTS = sa.text(
    "INSERT INTO lots (member_id, event_id, rule_id, points, remaining, status, spend_based, available_at,"
    " expires_at, created_at)"
    " SELECT e.member_id, e.id, r.rule_id, r.points, r.points, 'active', true, e.occurred_at,"
    " e.occurred_at + interval '1 year', e.occurred_at"
    " FROM events e CROSS JOIN (VALUES ('spend', 12), ('coffee-bonus', 9)) AS r(rule_id, points)"
    " WHERE e.id LIKE 'evt_bench%'")


def write_history(url: str, events: int, members: int):
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        first = connection.scalar(sa.text("SELECT now() - interval '365 days'"))
        connection.execute(PURCHASES, {"first": first, "events": events, "members": members,
                                       "step": 365 * 86400 / events})
        connection.execute(LOTS)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()
    return first


def time_backtests(app, start) -> list[float]:
    from loyalty.extensions import db
    from loyalty.services.backtest import backtest
    from loyalty.services.rules import active_rules

    seconds = []
    with app.app_context():
        session = db.session()
        program = active_rules(session).program
        for days in WINDOWS:
            runs = []
            for _ in range(3):
                began = time.perf_counter()
                backtest(session, program, program, start, start + timedelta(days=days))
                runs.append(time.perf_counter() - began)
                session.rollback()
            seconds.append(min(runs))
        db.session.remove()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL URL (dropped and created afresh)")
    parser.add_argument("--events", type=int, default=300_000, help="purchases to write")
    args = parser.parse_args()
    from loyalty import create_app

    url = recreate_postgres(args.url)
    _, members_file = prepare_service(url, Path(tempfile.mkdtemp(prefix="loyalty-bench-backtest-")), history=False)
    members = len(members_file.read_text().split())
    first = write_history(url, args.events, members)
    start = first + timedelta(days=180)
    app = create_app(ProductionConfig, SECRET_KEY="bench", SQLALCHEMY_DATABASE_URI=url, LOG_REQUESTS=False)
    without = time_backtests(app, start)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE INDEX bench_lots_event_id ON lots (event_id)"))
        connection.execute(sa.text("ANALYZE lots"))
    with_index = time_backtests(app, start)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP INDEX bench_lots_event_id"))
    engine.dispose()
    print(f"PostgreSQL, {members:,} members, {args.events:,} purchases over a year (two lots each);"
          f" backtest of the demo rules against themselves, best of 3")
    print(f"  {'window':>8}  {'no index by event':>18}  {'with ix_lots_event_id':>22}  ratio")
    for days, seconds, indexed in zip(WINDOWS, without, with_index, strict=True):
        print(f"  {days:>5} d  {seconds * 1000:>15.0f} ms  {indexed * 1000:>19.0f} ms  {seconds / indexed:5.2f}")


if __name__ == "__main__":
    main()
