"""Benchmark of the expiry job: lots expired per second on SQLite and PostgreSQL.

Builds a fresh database per backend with N members holding L lots in all
(default 100,000 and 1,000,000: ten 10-point lots each, every one with its
``earn`` entry, so the ledger balances), all due, their expiry instants
scattered over the past year; the generation is set-based SQL. Then it runs
the ``expire-points`` step as ``jobs run`` would and reports lots per second,
and checks the ledger afterwards (every balance 0 and equal to its entries,
one ``expire`` entry per lot). Target: 1,000,000 lots in ≤ 60 s on PostgreSQL.

Run:  make bench-expiry, or .venv/bin/python bench/expiry.py [--backend sqlite|postgres|both]
                                       [--lots N] [--members N] [--batch-size N] [--workers N]
PostgreSQL: a database ``loyalty_bench_expiry`` is (re)created on the server of
LOYALTY_BENCH_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
CPU seconds of this process are printed too: on a busy machine the wall time
also measures the neighbours.
"""

import argparse
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa
from flask_migrate import upgrade

from bench.databases import recreate_postgres
from config import TestingConfig
from loyalty import create_app
from loyalty.db.transactions import write_transaction
from loyalty.extensions import db
from loyalty.ledger.verify import verify_ledger
from loyalty.services import rules as rules_service
from loyalty.services.expiry import expire_points

NOW = datetime(2027, 6, 1, 16, 0, tzinfo=UTC)
YEAR_SECONDS = 365 * 24 * 3600
PG_SERVER = os.environ.get("LOYALTY_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

POSTGRES_SEED = [
    """INSERT INTO members (id, external_id, referral_code, email_opt_in, status, enrolled_at, balance, pending,
                           lifetime_earned, lifetime_redeemed, tier_id, tier_since, purchase_count,
                           referrals_earned, lifecycle_stage)
       SELECT 'mem_bench' || lpad(g::text, 7, '0'), 'bench-' || g, 'BN' || lpad(g::text, 7, '0'), false,
              'active', :enrolled, :per * 10, 0, :per * 10, 0, 'member', :enrolled, 0, 0, 'enrolled'
       FROM generate_series(1, :members) g""",
    """INSERT INTO ledger_entries (id, member_id, type, points, balance_after, rule_id, actor, rules_version,
                                  created_at, expires_at)
       SELECT 'txn_bench' || g, 'mem_bench' || lpad((((g - 1) % :members) + 1)::text, 7, '0'), 'earn', 10,
              10 * ((g - 1) / :members + 1), 'spend', 'bench', 1, e - interval '1 year', e
       FROM (SELECT g, CAST(:now AS timestamptz) - ((g::bigint * 7919) % :year + 1) * interval '1 second' AS e
             FROM generate_series(1, :lots) g) s""",
    """INSERT INTO lots (member_id, rule_id, points, remaining, status, spend_based, available_at,
                        expires_at, created_at)
       SELECT member_id, rule_id, points, points, 'active', true, created_at, expires_at, created_at
       FROM ledger_entries WHERE actor = 'bench' ORDER BY seq""",
]

SQLITE_SEED = [
    """WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :members)
       INSERT INTO members (id, external_id, referral_code, email_opt_in, status, enrolled_at, balance, pending,
                            lifetime_earned, lifetime_redeemed, tier_id, tier_since, purchase_count,
                            referrals_earned, lifecycle_stage)
       SELECT printf('mem_bench%07d', n), 'bench-' || n, printf('BN%07d', n), 0, 'active', :enrolled,
              :per * 10, 0, :per * 10, 0, 'member', :enrolled, 0, 0, 'enrolled' FROM g""",
    """WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :lots)
       INSERT INTO ledger_entries (id, member_id, type, points, balance_after, rule_id, actor, rules_version,
                                   created_at, expires_at)
       SELECT 'txn_bench' || n, printf('mem_bench%07d', ((n - 1) % :members) + 1), 'earn', 10,
              10 * ((n - 1) / :members + 1), 'spend', 'bench', 1,
              strftime('%Y-%m-%d %H:%M:%S', :epoch - (n * 7919) % :year - 1 - :year, 'unixepoch') || '.000000',
              strftime('%Y-%m-%d %H:%M:%S', :epoch - (n * 7919) % :year - 1, 'unixepoch') || '.000000'
       FROM g""",
    """INSERT INTO lots (member_id, rule_id, points, remaining, status, spend_based, available_at,
                        expires_at, created_at)
       SELECT member_id, rule_id, points, points, 'active', 1, created_at, expires_at, created_at
       FROM ledger_entries WHERE actor = 'bench' ORDER BY seq""",
]


def postgres_url() -> str:
    server = sa.engine.make_url(PG_SERVER)
    return recreate_postgres(server.set(database="loyalty_bench_expiry").render_as_string(hide_password=False))


def seed(app, backend: str, members: int, lots: int) -> float:
    started = time.perf_counter()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        with write_transaction(db.session()):
            rules_service.publish(db.session(), (ROOT / "rules" / "program.yaml").read_text(), "bench")
        params = {"members": members, "lots": lots, "per": lots // members, "year": YEAR_SECONDS,
                  "enrolled": NOW.replace(year=2025), "now": NOW, "epoch": int(NOW.timestamp())}
        if backend == "sqlite":
            params["enrolled"] = "2025-06-01 16:00:00.000000"
        with db.engine.begin() as connection:
            for statement in POSTGRES_SEED if backend == "postgres" else SQLITE_SEED:
                connection.execute(sa.text(statement), params)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE" if backend == "postgres" else "ANALYZE"))
        db.session.remove()
    return time.perf_counter() - started


def expire(app, batch_size: int, workers: int):
    """Run the step in `workers` threads; returns results, wall seconds, Python and server CPU seconds."""
    results, errors, server_cpu = [None] * workers, [], [0.0] * workers

    def work(index: int) -> None:
        try:
            with app.app_context():
                session = db.session()
                backend = session.scalar(sa.text("SELECT pg_backend_pid()")) if _postgres(session) else None
                session.commit()
                started = _process_cpu(backend)
                results[index] = expire_points(session, NOW, batch_size=batch_size)
                server_cpu[index] = _process_cpu(backend) - started
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    wall, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"expiry failed: {errors}")
    return results, time.perf_counter() - wall, time.process_time() - cpu, sum(server_cpu)


def _postgres(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _process_cpu(pid: int | None) -> float:
    """CPU seconds of a local PostgreSQL backend (0 when it is not on this machine, or for SQLite)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError, TypeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def check(app, lots: int) -> str:
    """Every balance equals its entries and its lots, nothing is left, and there is one entry per lot."""
    with app.app_context():
        session = db.session()
        mismatches = verify_ledger(session)
        expired = session.scalar(sa.text("SELECT count(*) FROM ledger_entries WHERE type = 'expire'"))
        left = (session.scalar(sa.text("SELECT coalesce(sum(balance), 0) FROM members"))
                + session.scalar(sa.text("SELECT coalesce(sum(remaining), 0) FROM lots")))
        db.session.remove()
    ok = not mismatches and expired == lots and left == 0
    return "ledger OK" if ok else f"LEDGER WRONG: {len(mismatches)} mismatches, {expired} entries, {left} left"


def run(backend: str, members: int, lots: int, batch_size: int, workers: int) -> None:
    url = postgres_url() if backend == "postgres" else f"sqlite:///{tempfile.mkdtemp(prefix='loyalty-expiry-')}/b.db"
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, LOG_LEVEL="WARNING")
    seconds = seed(app, backend, members, lots)
    print(f"{backend}: seeded {members:,} members, {lots:,} due lots in {seconds:.1f} s", flush=True)
    results, wall, cpu, server_cpu = expire(app, batch_size, workers)
    done = sum(r.done for r in results)
    batches = sum(r.batches for r in results)
    server = ""
    if server_cpu:
        server = f" + {server_cpu:.1f} in PostgreSQL = {done / (cpu + server_cpu):,.0f} lots per CPU s"
    print(f"{backend}: expired {done:,} lots in {wall:.1f} s = {done / wall:,.0f} lots/s "
          f"({workers} worker{'s' if workers > 1 else ''}, {batches} batches; CPU {cpu:.1f} s in Python{server}); "
          f"{check(app, lots)}", flush=True)
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--lots", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None,
                        help="expiry jobs started together, as `jobs run --workers N` (default: 1 on SQLite, "
                             "whose writers take turns; 2 on PostgreSQL, one per core of a 2-core machine)")
    args = parser.parse_args()
    from loyalty.services.expiry import BATCH_SIZE

    for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
        workers = args.workers or (2 if backend == "postgres" else 1)
        run(backend, args.members, args.lots, args.batch_size or BATCH_SIZE, workers)


if __name__ == "__main__":
    main()
