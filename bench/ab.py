"""Does each optimization still pay for itself? A/B in one run, on the figure it exists for.

Each optimization is measured against the plain code it replaced, served side
by side under identical gunicorn settings, in alternating rounds (A, B, A,
B…), so a machine busier in one minute than in the next moves both alike:

  writer-queue  SQLite writers wait for their turn on a file lock beside the
                database (``db.transactions._writers_turn``) instead of in
                SQLite's busy handler: accruals/s and p99 on SQLite, closed loop.
  gc-freeze     the app's long-lived objects frozen out of the collector
                once it is built (``gc.freeze()``, which ``app.py`` once did):
                p99 of accruals at half load, open loop.

Run: .venv/bin/python bench/ab.py [--only writer-queue,gc-freeze] [--duration 10] [--rounds 3]
Needs wrk (Debian package; `make bench-deps`).
"""

import argparse
import gc
import shutil
import statistics
import sys
import tempfile
import uuid
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.http_load import accrual_request, fresh_database, gunicorn, prepare_service, wrk  # noqa: E402
from bench.openloop import open_loop  # noqa: E402


def plain_app(writer_queue: bool = True):
    """The app as ``app.py`` builds it; without the writer queue if asked (gunicorn factory)."""
    from loyalty import create_app
    from loyalty.db import transactions

    if not writer_queue:
        transactions._writers_turn = lambda bind: nullcontext()
    return create_app()


def frozen_app():
    """The app as ``app.py`` builds it, its objects then frozen out of the collector (gunicorn factory)."""
    app = plain_app()
    gc.freeze()
    return app


VARIANTS = {  # name: (what the figure is, the optimized server, the plain one)
    "writer-queue": ("closed loop", "app:app", "bench.ab:plain_app(writer_queue=False)"),
    "gc-freeze": ("open loop", "bench.ab:frozen_app()", "app:app"),
}


def measure(kind: str, base: str, key: str, members: list[str], members_file: Path, duration: int,
            connections: int, run: str, rate: float | None) -> dict:
    if kind == "closed loop":
        result = wrk(base, "/v1/events", "accrual.lua", duration, connections,
                     {"API_KEY": key, "MEMBERS_FILE": str(members_file), "RUN": run})
        return {"rps": result["rps"], "p99": result["p99"], "errors": result["non_2xx"]}
    result = open_loop(base, accrual_request(key, members, run), rate, duration)
    return {"rps": result.rate, "p99": f"{result.p99_ms:.1f}ms", "p99_ms": result.p99_ms, "errors": result.errors}


def ab(name: str, duration: int, rounds: int, connections: int, workers: int) -> None:
    kind, optimized, plain = VARIANTS[name]
    workdir = Path(tempfile.mkdtemp(prefix=f"loyalty-ab-{name}-"))
    url = fresh_database("sqlite", workdir)
    key, members_file = prepare_service(url, workdir)
    members = members_file.read_text().split()
    run = uuid.uuid4().hex[:8]
    rate = None
    if kind == "open loop":  # half of what the optimized server does flat out
        with gunicorn(optimized, url, workers) as base:
            rate = wrk(base, "/v1/events", "accrual.lua", duration, connections,
                       {"API_KEY": key, "MEMBERS_FILE": str(members_file), "RUN": f"{run}-max"})["rps"] / 2
    results: dict[str, list[dict]] = {"optimized": [], "plain": []}
    for number in range(rounds):
        for label, spec in (("optimized", optimized), ("plain", plain)):
            with gunicorn(spec, url, workers) as base:
                results[label].append(measure(kind, base, key, members, members_file, duration, connections,
                                              f"{run}-{number}-{label}", rate))
    print(f"\n== {name} ({kind}{f', {rate:.0f} accruals/s' if rate else ''}; SQLite, {workers} workers) ==")
    for label, runs in results.items():
        rounds_text = " / ".join(f"{r['rps']:.0f} req/s p99 {r['p99']}" for r in runs)
        print(f"  {label:<10} {rounds_text}   errors {sum(r['errors'] for r in runs)}")
    if kind == "closed loop":
        gain = statistics.median(r["rps"] for r in results["optimized"]) / statistics.median(
            r["rps"] for r in results["plain"])
        print(f"  optimized / plain throughput (medians): {gain:.2f}")
        tail = statistics.median(_ms(r["p99"]) for r in results["plain"]) / statistics.median(
            _ms(r["p99"]) for r in results["optimized"])
        print(f"  plain p99 / optimized p99 (medians): {tail:.2f}")
    else:
        ratio = statistics.median(r["p99_ms"] for r in results["plain"]) / statistics.median(
            r["p99_ms"] for r in results["optimized"])
        print(f"  plain p99 / optimized p99 (medians): {ratio:.2f}")
    shutil.rmtree(workdir, ignore_errors=True)


def _ms(text: str) -> float:
    """wrk's latency ("177.52ms", "1.02s", "950.00us") in milliseconds."""
    for unit, scale in (("ms", 1.0), ("us", 0.001), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[:-len(unit)]) * scale
    raise ValueError(f"not a wrk latency: {text!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(VARIANTS))
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: run `make bench-deps` (Debian package wrk)")
    for name in args.only.split(","):
        ab(name, args.duration, args.rounds, args.connections, args.workers)


if __name__ == "__main__":
    main()
