"""Benchmark of ``events import --historical``: purchases a second from another program's history.

Imports ``--members`` members (``members import``, as a merchant moving over
would), then ``--events`` purchases spread over them and over the last
``--days`` days, oldest first, the way ``flask --app app events import
--historical`` does (batches of 500): each purchase earns by the rules of its
time, tiers move as they would have, lots already due expire. Then checks the
ledger. The issue's figure is 1,000,000 purchases over 100,000 members in
≤ 10 minutes on PostgreSQL; a smaller ``--events`` prints the time that rate
would take for 1,000,000.

Run: .venv/bin/python bench/event_import.py [--events 1000000] [--members 100000]
     [--url postgresql+psycopg://…/loyalty_bench_event_import | --sqlite]
"""

import argparse
import importlib
import json
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.in_process import start  # noqa: E402

TARGET_EVENTS, TARGET_SECONDS = 1_000_000, 600


def write_events(path: Path, events: int, members: int, days: int, now) -> None:
    """JSON Lines of purchases by external id, oldest first ($5 to $60, a coffee in one of three)."""
    rng = random.Random(11)
    start_at = now - timedelta(days=days)
    moments = sorted(rng.random() * days for _ in range(events))
    with path.open("w", encoding="utf-8") as out:
        for n, offset in enumerate(moments):
            amount = rng.randint(500, 6000)
            body = {"type": "purchase", "external_id": f"legacy-{rng.randrange(members):07d}",
                    "source_id": f"history/{n}", "amount": amount, "currency": "USD",
                    "occurred_at": (start_at + timedelta(days=offset)).isoformat().replace("+00:00", "Z")}
            if n % 3 == 0:
                body["items"] = [{"sku": "latte", "category": "coffee", "quantity": 1, "unit_amount": 450}]
            out.write(json.dumps(body) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=TARGET_EVENTS)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=730, help="how far back the history goes")
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/loyalty_bench_event_import",
                        help="PostgreSQL database, dropped and created afresh")
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="loyalty-event-import-bench-"))
    bench = start(None if args.sqlite else args.url, "event_import")

    from loyalty import clock
    from loyalty.commands.events import _parse
    from loyalty.extensions import db
    from loyalty.ledger.verify import verify_ledger
    from loyalty.services import event_import, member_import
    from loyalty.services.rules import active_rules

    members_csv, events_file = work / "members.csv", work / "events.jsonl"
    importlib.import_module("bench.import").write_csv(members_csv, args.members)
    now = clock.now()
    write_events(events_file, args.events, args.members, args.days, now)
    with bench.app.app_context():
        session = db.session()
        with members_csv.open(encoding="utf-8", newline="") as lines:
            member_import.import_members(session, active_rules(session), lines, "bench", now)
        started, cpu = time.perf_counter(), time.process_time()
        with events_file.open(encoding="utf-8") as lines:
            report = event_import.import_events(session, event_import.rows(lines, "jsonl"), _parse, "bench", now,
                                                historical=True)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        rate = args.events / seconds
        print(f"events import --historical: {args.events:,} purchases over {args.members:,} members, "
              f"{args.days} days, batches of 500")
        print(f"  {seconds:,.1f} s = {rate:,.0f} events/s ({cpu / args.events * 1000:.2f} ms CPU an event in this"
              f" process); recorded {report.recorded:,}, rejected {len(report.rejected):,}, points {report.points:,}")
        projected = TARGET_EVENTS / rate
        print(f"  1,000,000 at this rate: {projected / 60:.1f} min (target ≤ {TARGET_SECONDS // 60} min)")
        started = time.perf_counter()
        mismatches = verify_ledger(session)
        print(f"  ledger verify: {'OK' if not mismatches else f'{len(mismatches)} MISMATCHES'}"
              f" in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
