"""Benchmark of ``members import``: rows per second into a fresh SQLite (or DATABASE_URL) database.

Generates N members (default 100,000; target ≤ 60 s on SQLite) with contact
fields, an opening balance on most rows and a tier on some, imports them the
way ``flask --app app members import`` does, then imports the same file again
(everything is skipped: the idempotent re-run) and checks the ledger.

Run: .venv/bin/python bench/import.py [ROWS] [--url DATABASE_URL]
(CPU seconds are printed too: on a busy machine the wall time says more about the neighbours.)
"""

import argparse
import csv
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade

from config import TestingConfig
from loyalty import clock, create_app
from loyalty.db.transactions import write_transaction
from loyalty.extensions import db
from loyalty.ledger.verify import verify_ledger
from loyalty.services import member_csv, member_import
from loyalty.services import rules as rules_service
from loyalty.services.rules import active_rules


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(member_csv.COLUMNS)
        for i in range(rows):
            out.writerow([
                f"legacy-{i:07d}", f"member{i}@example.com", f"+1 555 {i:07d}", "Ana", f"Test{i}",
                f"19{rng.randint(50, 99)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                rng.choice(["true", "false"]), rng.choice([0, 50, 120, 800, 2500]),
                rng.choice(["", "", "", "silver", "gold"]), "", "2024-03-01",
            ])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", type=int, nargs="?", default=100_000)
    parser.add_argument("--url", default=None, help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="loyalty-import-bench-"))
    url = args.url or f"sqlite:///{work / 'bench.db'}"
    source = work / "members.csv"
    write_csv(source, args.rows)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, LOG_LEVEL="WARNING")
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        with write_transaction(db.session()):
            rules_service.publish(db.session(), (ROOT / "rules" / "program.yaml").read_text(), "bench")
        rules = active_rules(db.session())
        for label in ("import", "re-import (all skipped)"):
            started, cpu = time.perf_counter(), time.process_time()
            with source.open(encoding="utf-8", newline="") as lines:
                report = member_import.import_members(db.session(), rules, lines, "bench", clock.now())
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            print(f"{label:<24} {args.rows:>9,} rows in {seconds:6.1f} s = {args.rows / seconds:>8,.0f} rows/s "
                  f"({cpu:.1f} s CPU; enrolled {report.enrolled:,}, skipped {report.skipped:,}, "
                  f"bad {len(report.errors)}, opening points {report.opening_points:,})")
        started = time.perf_counter()
        mismatches = verify_ledger(db.session())
        print(f"ledger verify            {'OK' if not mismatches else f'{len(mismatches)} MISMATCHES'} "
              f"in {time.perf_counter() - started:.1f} s")
        db.session.remove()
        db.engine.dispose()
    print(f"target: 100,000 rows in ≤ 60 s on SQLite ({'SQLite' if url.startswith('sqlite') else url.split(':')[0]})")


if __name__ == "__main__":
    main()
