"""Batch ingestion in process (Flask test client, no HTTP): events/s of POST /v1/events/batch.

Against a baseline measured in the same run on the same database: A, the
same purchases posted one by one to ``POST /v1/events``. Both spread their
events over the same members ($12.50 with two coffees, as bench/accrual.py).

With ``--ab``, also B0: the same batches with each row written as it comes instead of held and
written one statement a table (``db.held_rows``), in alternating rounds with B.

Run: .venv/bin/python bench/batch.py [--url postgresql+psycopg://…/loyalty_bench_batch]
     [--batch-size 500] [--batches 10] [--single 1000] [--members 1000] [--profile] [--ab [--rounds 3]]
(the PostgreSQL database is dropped and created afresh; without --url a temporary SQLite file).
"""

import argparse
import sys
import time
from contextlib import nullcontext
from itertools import count
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.accrual import profile  # noqa: E402
from bench.in_process import start  # noqa: E402
from bench.purchase import purchase  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--batches", type=int, default=10, help="batches to time")
    parser.add_argument("--single", type=int, default=1000, help="single accruals to time (the baseline A)")
    parser.add_argument("--members", type=int, default=1000, help="members the events are spread over")
    parser.add_argument("--profile", action="store_true", help="print each layer's share of a batch's CPU")
    parser.add_argument("--ab", action="store_true", help="B against B0, rows written as they come")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of B and B0 with --ab")
    args = parser.parse_args()
    bench = start(args.url, "batch")
    url, client, headers = bench.url, bench.client, bench.headers

    members = [client.post("/v1/members", json={"external_id": f"bench-{n}"}, headers=headers()).get_json()["id"]
               for n in range(args.members)]
    numbers = count()

    def event() -> dict:
        n = next(numbers)
        return purchase(members[n % len(members)], f"bench/{n}")

    def single():
        response = client.post("/v1/events", json=event(), headers=headers())
        assert response.status_code == 201, response.get_json()

    def batch():
        response = client.post("/v1/events/batch", json={"events": [event() for _ in range(args.batch_size)]},
                               headers=headers())
        assert response.status_code == 200, response.get_json()
        assert {r["status"] for r in response.get_json()["results"]} == {201}

    for _ in range(20):
        single()
    batch()

    def rate(calls: int, call, events_each: int) -> tuple[float, float]:
        """(events/s of wall time, CPU ms per event) of this process."""
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(calls):
            call()
        events = calls * events_each
        return events / (time.perf_counter() - wall), (time.process_time() - cpu) / events * 1000

    single_rate, single_cpu = rate(args.single, single, 1)
    batch_rate, batch_cpu = rate(args.batches, batch, args.batch_size)
    print(f"{sa.engine.make_url(url).get_backend_name()}: in process, events over {args.members} members")
    print(f"  A: POST /v1/events, one at a time   {single_rate:8,.0f} events/s  {single_cpu:5.2f} ms CPU/event"
          f"  ({args.single} events)")
    print(f"  B: POST /v1/events/batch of {args.batch_size:<5} {batch_rate:8,.0f} events/s"
          f"  {batch_cpu:5.2f} ms CPU/event  ({args.batches} batches)")
    print(f"  B / A: {batch_rate / single_rate:.1f}× events/s, {single_cpu / batch_cpu:.1f}× less CPU an event")
    if args.ab:
        held_against_plain(args, batch, rate)
    if args.profile:
        print(f"Where a batch's CPU goes (own time by layer, {args.batches} batches under cProfile):")
        profile(args.batches, batch)


def held_against_plain(args, batch, rate) -> None:
    """B (rows held, written a table at a time) against B0 (each row written as it comes), alternating."""
    from loyalty.db import held_rows

    figures = {"B": [], "B0": []}
    for _ in range(args.rounds):
        figures["B"].append(rate(args.batches, batch, args.batch_size))
        with mock.patch.object(held_rows, "holding", lambda session: nullcontext()):
            figures["B0"].append(rate(args.batches, batch, args.batch_size))
    for name, rounds in figures.items():
        print(f"  {name:<3} rounds: " + ", ".join(f"{r:,.0f} events/s {cpu:.2f} ms CPU" for r, cpu in rounds))
    best = {name: max(r for r, _ in rounds) for name, rounds in figures.items()}
    print(f"  B / B0 (best rounds): {best['B'] / best['B0']:.2f}× events/s")


if __name__ == "__main__":
    main()
