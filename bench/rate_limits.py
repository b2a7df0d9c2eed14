"""What the rate limiter costs a request, by the store it counts in.

In process (Flask test client, no HTTP), on a SQLite database: the same request
timed with the limiter off (the baseline, measured in the same run), counting in
each process's memory (``memory://``, what a limit meant N times under N
workers), in the default SQLite file beside the database, and in Redis when it
answers. Each store runs in a process of its own, in rounds that take turns, on
a fresh copy of the database; the figures are the rounds' medians. The memory
store also starts a timer thread now and then: the threads started per request
are counted, and the store's own calls in one hit are timed alone.

Run: .venv/bin/python bench/rate_limits.py [-n 500] [--rounds 3] [--request accrual|read]
     [--redis redis://127.0.0.1:6379/0]
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.purchase import purchase  # noqa: E402

STORES = ("off", "memory", "sqlite", "redis")


def app_for(url: str, store: str, redis_url: str):
    from config import ProductionConfig
    from loyalty import create_app

    settings = {"RATELIMIT_ENABLED": store != "off", "RATELIMIT_PER_KEY": "10000000 per minute",
                "RATELIMIT_KEY_PREFIX": f"bench-{uuid.uuid4().hex}"}
    # sqlite: the setting unset, as by default (a file beside the database)
    settings["RATELIMIT_STORAGE_URI"] = {"memory": "memory://", "redis": redis_url}.get(store)
    return create_app(ProductionConfig, SECRET_KEY="bench", SQLALCHEMY_DATABASE_URI=url, LOG_REQUESTS=False,
                      **settings)


def prepare(folder: Path) -> dict:
    """A migrated database with the demo rules, a till's key and a member; copied for each run."""
    from flask_migrate import upgrade

    from loyalty.extensions import db

    url = f"sqlite:///{folder / 'template.db'}"
    app = app_for(url, "off", "")
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
    runner = app.test_cli_runner()
    runner.invoke(args=["rules", "load", str(ROOT / "rules")])
    key = runner.invoke(args=["keys", "create", "--name", "bench-till", "--scope", "pos"]).stdout.split()[-1]
    member = app.test_client().post("/v1/members", json={"external_id": "bench-1"}, headers={
        "Authorization": f"Bearer {key}", "Idempotency-Key": uuid.uuid4().hex}).get_json()["id"]
    with app.app_context():
        db.engine.dispose()  # the last connection closed writes the WAL back: the file alone is the database
    return {"template": str(folder / "template.db"), "key": key, "member": member}


def run_one(setup: dict, store: str, request: str, count: int, redis_url: str) -> dict:
    """In the child: time ``count`` requests against a fresh copy of the database."""
    copy = Path(tempfile.mkdtemp()) / "loyalty.db"
    shutil.copy(setup["template"], copy)
    client = app_for(f"sqlite:///{copy}", store, redis_url).test_client()
    auth = {"Authorization": f"Bearer {setup['key']}"}

    def accrual():
        body = purchase(setup["member"], uuid.uuid4().hex)
        answer = client.post("/v1/events", json=body, headers={**auth, "Idempotency-Key": uuid.uuid4().hex})
        assert answer.status_code == 201, answer.get_json()

    def read():
        answer = client.get(f"/v1/members/{setup['member']}", headers=auth)
        assert answer.status_code == 200, answer.get_json()

    call = {"accrual": accrual, "read": read}[request]
    for _ in range(30):
        call()
    started = []
    original_start = threading.Thread.start
    threading.Thread.start = lambda thread: (started.append(1), original_start(thread))[1]
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    threading.Thread.start = original_start
    shutil.rmtree(copy.parent)
    return {"wall_ms": wall / count * 1000, "cpu_ms": cpu / count * 1000, "threads": len(started) / count}


def redis_answers(redis_url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping())
    except Exception:
        return False


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=500, help="requests per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--request", choices=("accrual", "read"), default="accrual")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        store, setup = args.child.split(":", 1)
        print(json.dumps(run_one(json.loads(setup), store, args.request, args.n, args.redis)))
        return
    folder = Path(tempfile.mkdtemp())
    setup = prepare(folder)
    stores = [store for store in STORES if store != "redis" or redis_answers(args.redis)]
    runs = {store: [] for store in stores}
    for round_ in range(args.rounds):
        for store in stores[round_ % len(stores):] + stores[:round_ % len(stores)]:
            printed = subprocess.run(
                [sys.executable, __file__, "-n", str(args.n), "--request", args.request, "--redis", args.redis,
                 "--child", f"{store}:{json.dumps(setup)}"], stdout=subprocess.PIPE, text=True, check=True).stdout
            runs[store].append(json.loads(printed.splitlines()[-1]))
    shutil.rmtree(folder)
    report(runs, args)


def store_alone(store: str, redis_url: str, count: int = 5000) -> float:
    """µs of CPU per hit for the store's own calls in a hit (incr, then get and get_expiry for the headers)."""
    from limits.storage import storage_from_string

    import loyalty.http.limits  # noqa: F401  (registers the sqlite:// store)

    uri = {"memory": "memory://", "sqlite": f"sqlite:///{tempfile.mkdtemp()}/limits.db", "redis": redis_url}[store]
    storage = storage_from_string(uri)
    key = f"bench-{uuid.uuid4().hex}"

    def hit():
        storage.incr(key, 60)
        storage.get(key)
        storage.get_expiry(key)

    for _ in range(200):
        hit()
    started = time.process_time()
    for _ in range(count):
        hit()
    return (time.process_time() - started) / count * 1e6


def report(runs: dict, args) -> None:
    median = {store: {k: statistics.median(run[k] for run in each) for k in each[0]} for store, each in runs.items()}
    base = median["off"]
    label = {"accrual": "POST /v1/events", "read": "GET /v1/members/{id}"}[args.request]
    print(f"rate limiter cost: {label} in process on SQLite, {args.n} requests x {args.rounds} rounds (medians)")
    print(f"  {'store':<7} {'wall ms':>8} {'CPU ms':>7} {'+wall us':>9} {'+CPU us':>8} {'wall x':>7} {'CPU x':>6}"
          f" {'threads/req':>11} {'store alone us':>14}")
    for store, figures in median.items():
        alone = f"{store_alone(store, args.redis):14.1f}" if store != "off" else f"{'':>14}"
        added_wall, added_cpu = (figures[k] - base[k] for k in ("wall_ms", "cpu_ms"))
        print(f"  {store:<7} {figures['wall_ms']:8.3f} {figures['cpu_ms']:7.3f}"
              f" {added_wall * 1000:9.0f} {added_cpu * 1000:8.0f}"
              f" {figures['wall_ms'] / base['wall_ms']:7.3f} {figures['cpu_ms'] / base['cpu_ms']:6.3f}"
              f" {figures['threads']:11.2f}{alone}")
    print("  off: limiter disabled, the baseline of the same run; +us: time the limiter adds to a request;")
    print("  threads/req: threads started per request; store alone: CPU of the store's calls in one hit")


if __name__ == "__main__":
    main()
