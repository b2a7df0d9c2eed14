"""Storage one purchase accrual takes on PostgreSQL, per table and per index.

The same set-up as bench/http_load.py (its ``prepare_service``: the demo
rules, 10,000 members with points), then n accruals as bench/wrk/accrual.lua
sends them (a $12.50 purchase with two coffees, a fresh Idempotency-Key and
source_id each, spread over the members), posted in process with the Flask
test client. ``VACUUM FULL`` before each measurement, so the figures are
live rows only; they are bytes, so one run is enough.

"Durable" is every table but idempotency_records (forgotten after the
retention window); "with key" adds it. The figures are given again after
the ``purge-counters`` job step as runs 101 and 470 days later do it (the
day's cap counts, then its qualifying points, are gone by then).

Run: .venv/bin/python bench/storage.py [--url postgresql+psycopg://…/loyalty_bench_storage] [-n 3000]
(the database is dropped and created afresh).
"""

import argparse
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.databases import recreate_postgres  # noqa: E402
from bench.http_load import prepare_service, storage_bytes, storage_per_accrual  # noqa: E402
from bench.purchase import purchase  # noqa: E402
from config import ProductionConfig  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/loyalty_bench_storage"
KEYS = "idempotency_records"

RELATIONS = sa.text(
    "SELECT t.relname, t.relname, pg_table_size(t.oid) FROM pg_class t"
    " JOIN pg_namespace n ON n.oid = t.relnamespace"
    " WHERE n.nspname = 'public' AND t.relkind = 'r' AND t.relname NOT LIKE 'bench_%'"
    " UNION ALL"
    " SELECT t.relname, i.relname, pg_relation_size(i.oid) FROM pg_index x"
    " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid"
    " JOIN pg_namespace n ON n.oid = t.relnamespace"
    " WHERE n.nspname = 'public' AND t.relname NOT LIKE 'bench_%'")


def relation_sizes(url: str) -> dict[tuple[str, str], int]:
    """(table, relation) → bytes, where relation is the table itself (heap, TOAST, maps) or one of its indexes.

    Measured after ``storage_bytes``' VACUUM FULL, so the two agree.
    """
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        sizes = {(table, relation): int(size) for table, relation, size in connection.execute(RELATIONS)}
    engine.dispose()
    return sizes


def measure(url: str) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    return storage_bytes(url), relation_sizes(url)


def post_accruals(url: str, key: str, members: list[str], count: int) -> None:
    from loyalty import create_app

    app = create_app(ProductionConfig, SECRET_KEY="bench", SQLALCHEMY_DATABASE_URI=url, RATELIMIT_ENABLED=False,
                     LOG_REQUESTS=False)
    client = app.test_client()
    for counter in range(1, count + 1):
        request_id = f"storage-{counter}"
        response = client.post("/v1/events", json=purchase(members[(counter * 7919) % len(members)], request_id),
                               headers={"Authorization": f"Bearer {key}", "Idempotency-Key": request_id})
        assert response.status_code == 201, response.get_json()
    with app.app_context():
        from loyalty.extensions import db
        db.engine.dispose()


def run_retention(url: str, days_later: int) -> int:
    """The ``purge-counters`` job step as a run ``days_later`` days after the accruals does it."""
    from loyalty import clock, create_app
    from loyalty.commands.jobs import purge_counters
    from loyalty.extensions import db

    app = create_app(ProductionConfig, SECRET_KEY="bench", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        done = purge_counters(db.session(), clock.now() + timedelta(days=days_later)).done
        db.session.remove()
        db.engine.dispose()
    return done


def report(before, after, accruals: int, title: str) -> float:
    (totals_before, relations_before), (totals_after, relations_after) = before, after
    durable, with_key = storage_per_accrual(totals_before, totals_after, accruals)
    print(f"\n{title}: bytes per accrual ({accruals} accruals)")
    grown = {name: relations_after.get(name, 0) - relations_before.get(name, 0) for name in relations_after}
    tables = sorted({table for table, _ in grown}, key=lambda t: (t == KEYS, t))
    for table in tables:
        rows = [(relation, size) for (t, relation), size in grown.items() if t == table]
        total = sum(size for _, size in rows)
        if not total:
            continue
        print(f"  {table:<42}{total / accruals:9.1f}")
        for relation, size in sorted(rows, key=lambda row: (row[0] != table, row[0])):
            label = "(table: heap, TOAST, maps)" if relation == table else relation
            print(f"    {label:<40}{size / accruals:9.1f}")
    print(f"  durable (all but {KEYS}): {durable:.0f} bytes per accrual (target ≤ 2,048)")
    print(f"  with its idempotency key:            {with_key:.0f} bytes per accrual")
    return durable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL URL (dropped and created afresh)")
    parser.add_argument("-n", type=int, default=3000, help="accruals to post")
    parser.add_argument("--no-retention", action="store_true", help="skip the figure after the retention step")
    args = parser.parse_args()
    url = recreate_postgres(args.url)
    workdir = Path(tempfile.mkdtemp(prefix="loyalty-bench-storage-"))
    key, members_file = prepare_service(url, workdir, history=False)  # its purges must meet only what it measures
    members = members_file.read_text().split()
    before = measure(url)
    post_accruals(url, key, members, args.n)
    after = measure(url)
    print(f"PostgreSQL, {len(members):,} members, {args.n:,} purchase accruals"
          f" ($12.50, two coffees) spread over them; VACUUM FULL before each measurement")
    report(before, after, args.n, "after the accruals")
    if not args.no_retention:
        # With the default COUNTER_RETENTION_DAYS (100): the day's cap counts go after 101 days,
        # its qualifying points once out of the 365-day tier window too.
        for days in (101, 470):
            purged = run_retention(url, days)
            report(before, measure(url), args.n, f"after `jobs run` {days} days later ({purged:,} counter rows purged)")

if __name__ == "__main__":
    main()
