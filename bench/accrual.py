"""One accrual in process (Flask test client, no HTTP): time, CPU and SQL statements.

Against a baseline measured in the same run: the same client asking ``GET /healthz``.
What it prints is what the HTTP benchmark's accrual costs the app itself.
``--request read`` times ``GET /v1/members/{id}`` instead, ``--request lookup``
the till's card lookup ``GET /v1/members?external_id=``, of the member the
accruals earned for.

Run: .venv/bin/python bench/accrual.py [--url postgresql+psycopg://…/loyalty_bench_accrual] [-n 1000]
     [--request accrual|read|lookup] [--show-sql] [--profile]
(the PostgreSQL database is dropped and created afresh). ``--profile`` also
prints where the request's CPU goes: each layer's own time under cProfile
(which slows everything alike, so the shares hold, not the times).
"""

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.in_process import start  # noqa: E402
from bench.purchase import purchase  # noqa: E402
from loyalty.extensions import db  # noqa: E402


def timed(count: int, call) -> tuple[float, float]:
    """(wall ms, CPU ms) per call."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        call()
    return (time.perf_counter() - wall) / count * 1000, (time.process_time() - cpu) / count * 1000


#: Where a function's own time is counted: the first of these its file's path contains.
LAYERS = (
    ("loyalty/engine/", "rules engine"), ("loyalty/ledger/", "ledger"), ("loyalty/services/", "services"),
    ("loyalty/api/", "api views"), ("loyalty/http/", "http (auth, idempotency, limits)"),
    ("loyalty/observability/", "observability"), ("loyalty/db/", "db plumbing"), ("loyalty/", "loyalty, other"),
    ("sqlalchemy", "SQLAlchemy"), ("psycopg", "driver"), ("sqlite3", "driver"), ("marshmallow", "marshmallow"),
    ("flask_limiter", "rate limiter"), ("/limits/", "rate limiter"), ("flask_smorest", "framework"),
    ("flask", "framework"), ("werkzeug", "framework"), ("json", "json"),
)


def profile(count: int, call) -> None:
    """Each layer's share of the CPU ``count`` calls take, by the functions' own time."""
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [call() for _ in range(count)])
    shares: dict[str, float] = {}
    for (path, _line, _name), (_calls, _primitive, own, _total, _callers) in pstats.Stats(profiler).stats.items():
        layer = next((label for part, label in LAYERS if part in path), "other (stdlib, builtins)")
        shares[layer] = shares.get(layer, 0.0) + own
    total = sum(shares.values())
    for layer, own in sorted(shares.items(), key=lambda item: -item[1]):
        print(f"  {layer:<34} {own / total:6.1%}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("-n", type=int, default=1000, help="accruals to time")
    parser.add_argument("--request", choices=("accrual", "read", "lookup"), default="accrual",
                        help="what to time (default: accrual)")
    parser.add_argument("--show-sql", action="store_true", help="print the SQL statements of one request")
    parser.add_argument("--profile", action="store_true", help="print each layer's share of the request's CPU")
    args = parser.parse_args()
    bench = start(args.url, "accrual")
    url, app, client, key, headers = bench.url, bench.app, bench.client, bench.key, bench.headers

    member = client.post("/v1/members", json={"external_id": "bench-1"}, headers=headers()).get_json()["id"]
    body = purchase(member)

    def accrue():
        response = client.post("/v1/events", json=body, headers=headers())
        assert response.status_code == 201, response.get_json()

    def get(path: str):
        def request():
            response = client.get(path, headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 200, response.get_json()
        return request

    for _ in range(20):
        accrue()
    label, call = {
        "accrual": ("POST /v1/events", accrue),
        "read": ("GET /v1/members/{id}", get(f"/v1/members/{member}")),
        "lookup": ("GET /v1/members?external_id=", get("/v1/members?external_id=bench-1")),
    }[args.request]
    call()
    statements = []
    with app.app_context():
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        call()
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    base_wall, base_cpu = timed(args.n, lambda: client.get("/healthz"))
    wall, cpu = timed(args.n, call)
    if args.show_sql:
        print("\n---\n".join(statements))
    print(f"{sa.engine.make_url(url).get_backend_name()}: {label} in process, {args.n} requests")
    print(f"  {args.request:<9} {wall:6.2f} ms wall  {cpu:6.2f} ms CPU  {len(statements)} SQL statements (+ COMMIT)")
    print(f"  /healthz  {base_wall:6.2f} ms wall  {base_cpu:6.2f} ms CPU  (baseline)")
    print(f"  {args.request} / baseline: {wall / base_wall:.1f}× wall, {cpu / base_cpu:.1f}× CPU")
    if args.profile:
        print(f"Where {label}'s CPU goes (own time by layer, {args.n} requests under cProfile):")
        profile(args.n, call)


if __name__ == "__main__":
    main()
