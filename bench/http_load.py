"""HTTP throughput and latency of the service against the stack's own ceiling, in one run.

For each database (SQLite file, PostgreSQL at LOYALTY_BENCH_DATABASE_URL or
127.0.0.1:5432/loyalty_bench), under identical gunicorn settings:

  H  bare Flask JSON hello world                      (bench/ceiling.py)
  T  bare Flask, one insert + one counter update      (bench/ceiling.py)
  S  bare Flask replaying one accrual's own statements (bench/ceiling.py): the
     floor the accrual's SQL sets, with no framework, rules, ORM or JSON
  A  POST /v1/events, a purchase, spread over 10,000 members
  A1 POST /v1/events, 32 connections on one single member
  B  POST /v1/events/batch, batches of 500 of A's purchases, --batches-in-flight at once
  R  GET /v1/members/{id}
  D  POST /v1/members/{id}/redemptions (free-drink)

Closed loop (wrk, max throughput) for each, in turn and ``--rounds`` times
(median reported), then open loop at half of A's and R's max for p50/p99
(bench/openloop.py). On PostgreSQL it also reports the
storage one accrual takes, indexes included. Then it checks that nothing
was lost: every A1 accrual answered 201 is recorded, and the ledger adds up
for every member (``ledger verify``).

Run: .venv/bin/python bench/http_load.py [--databases sqlite,postgres] [--duration 10]
Needs wrk (Debian package; `make bench-deps`).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa

from bench import ceiling
from bench.databases import recreate_postgres
from bench.openloop import open_loop
from config import ProductionConfig

MEMBERS = 10_000
SEED_POINTS = 100_000
PG_URL = os.environ.get("LOYALTY_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/loyalty_bench")
GUNICORN = Path(sys.executable).with_name("gunicorn")
WRK_DIR = ROOT / "bench" / "wrk"


# --------------------------------------------------------------------------- database


def fresh_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}"
    return recreate_postgres(PG_URL)


def prepare_service(database_url: str, workdir: Path, history: bool = True,
                    replay_members: int = 0) -> tuple[str, Path]:
    """Migrate, publish the demo rules, create a key and 10,000 members with points (and some history).

    Returns the API key and a file of member ids (one per line) for the wrk
    scripts. ``replay_members`` more go to ``replay-members.txt`` beside it,
    for ceiling S alone (its replays write recorded totals over their rows).
    """
    from flask_migrate import upgrade

    from loyalty import clock, create_app, ledger
    from loyalty.db.transactions import write_transaction
    from loyalty.extensions import db
    from loyalty.ids import new_id, new_referral_code
    from loyalty.models import Member
    from loyalty.services import api_keys
    from loyalty.services import rules as rules_service

    app = create_app(ProductionConfig, SECRET_KEY="bench", SQLALCHEMY_DATABASE_URI=database_url,
                     RATELIMIT_ENABLED=False)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        session = db.session()
        with write_transaction(session):
            rules_service.publish(session, (ROOT / "rules" / "program.yaml").read_text(), "bench")
        with write_transaction(session):
            _, key = api_keys.create_key(session, f"bench-{uuid.uuid4().hex[:6]}", "admin", clock.now())
        now = clock.now()
        ids = []
        for start in range(0, MEMBERS + replay_members, 1000):
            with write_transaction(session):
                batch = [Member(id=new_id("mem"), external_id=f"bench-{i}", referral_code=new_referral_code(10),
                                tier_id="member", tier_since=now, enrolled_at=now, status="active")
                         for i in range(start, start + 1000)]
                session.add_all(batch)
                session.flush()
                posting = ledger.Posting(now=now, actor="bench", reason="bench seed")
                for member in batch:
                    ledger.credit(session, member, [ledger.Credit(SEED_POINTS, None, now, None)], posting,
                                  entry_type="adjust")
                ids += [member.id for member in batch]
        db.session.remove()
        db.engine.dispose()
    ids, replay_ids = ids[:MEMBERS], ids[MEMBERS:]
    if history:
        record_history(app, key, ids)
    members_file = workdir / "members.txt"
    members_file.write_text("\n".join(ids) + "\n")
    if replay_ids:
        (workdir / "replay-members.txt").write_text("\n".join(replay_ids) + "\n")
    return key, members_file


HISTORY = 2000


def record_history(app, key: str, members: list[str]) -> None:
    """``HISTORY`` purchases through the API, then fresh planner statistics (PostgreSQL).

    A running shop's tables are never empty. On empty ones PostgreSQL plans
    sequential scans (foreign key checks, counter reads), and each connection
    keeps those plans until autovacuum analyzes the tables a minute or more
    later: the measured run would pay for scans no real database makes.
    """
    client = app.test_client()
    for index in range(HISTORY):
        response = client.post("/v1/events", json={
            "type": "purchase", "member_id": members[index * 7 % len(members)], "amount": 1250, "currency": "USD",
            "source_id": f"history-{index}"}, headers={"Authorization": f"Bearer {key}",
                                                      "Idempotency-Key": f"history-{index}"})
        assert response.status_code == 201, response.get_json()
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("ANALYZE"))
    engine.dispose()


def storage_bytes(database_url: str) -> dict[str, int]:
    """Bytes of live rows per service table, indexes included (PostgreSQL).

    ``VACUUM FULL`` first rewrites every table compactly, so the figures hold
    live rows only: dead row versions left by updates are space autovacuum
    hands back for reuse, not space an accrual keeps.
    """
    engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("VACUUM FULL"))
        sizes = dict(connection.execute(sa.text(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname NOT LIKE 'bench_%'")).all())
    engine.dispose()
    return {table: int(size) for table, size in sizes.items()}


def storage_per_accrual(before: dict[str, int], after: dict[str, int], accruals: int) -> tuple[float, float]:
    """(durable bytes per accrual, bytes per accrual while its idempotency key is kept too)."""
    grown = {table: after[table] - before.get(table, 0) for table in after}
    keys = grown.pop("idempotency_records", 0)
    durable = sum(grown.values()) / max(accruals, 1)
    return durable, durable + keys / max(accruals, 1)


def count_events(database_url: str, source_like: str = "%") -> int:
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        total = connection.execute(sa.text("SELECT count(*) FROM events WHERE coalesce(source_id, '') LIKE :like"),
                                   {"like": source_like}).scalar()
    engine.dispose()
    return int(total)


def ledger_mismatches(database_url: str, left_out: set[str]) -> int:
    """Members (but ``left_out``) whose balance ≠ Σ entries or whose spendable lots ≠ max(balance, 0)."""
    from loyalty import create_app
    from loyalty.extensions import db
    from loyalty.ledger.verify import verify_ledger

    app = create_app(ProductionConfig, SECRET_KEY="bench", SQLALCHEMY_DATABASE_URI=database_url)
    with app.app_context():
        mismatches = [mismatch for mismatch in verify_ledger(db.session()) if mismatch.member_id not in left_out]
        db.session.remove()
        db.engine.dispose()
    return len(mismatches)


# --------------------------------------------------------------------------- servers and load


@contextmanager
def gunicorn(app_spec: str, database_url: str, workers: int, extra_env: dict | None = None):
    port = free_port()
    env = {**os.environ, "LOYALTY_ENV": "production", "SECRET_KEY": "bench", "DATABASE_URL": database_url,
           "PYTHONPATH": str(ROOT), "RATELIMIT_ENABLED": "false",  # one key at full speed is the point here
           **(extra_env or {})}
    log = open(Path(tempfile.gettempdir()) / "loyalty-bench-gunicorn.log", "ab")  # request logs stay off the report
    process = subprocess.Popen([str(GUNICORN), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                                "--log-level", "warning", app_spec], cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(15)
        log.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(base: str, process) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited")
        for path in ("/healthz", "/hello"):
            try:
                with urllib.request.urlopen(base + path, timeout=1):
                    return
            except OSError:
                pass
        time.sleep(0.2)
    raise RuntimeError(f"{base} did not come up")


def wrk(base: str, path: str, script: str | None, duration: int, connections: int, env: dict,
        timeout: int = 2) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", f"--timeout={timeout}s", "--latency"]
    if script:
        command += ["-s", str(WRK_DIR / script)]
    output = subprocess.run(command + [base + path], capture_output=True, text=True, check=True,
                            env={**os.environ, "WRK_DIR": str(WRK_DIR), **env}).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    answered = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    non_2xx = int(non_2xx.group(1)) if non_2xx else 0
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.M))
    return {"rps": rps, "non_2xx": non_2xx, "accepted": answered - non_2xx,
            "p50": latency.get("50"), "p99": latency.get("99")}


def accrual_request(key: str, members: list[str], run: str):
    def make(index: int):
        member = members[(index * 7919) % len(members)]
        body = json.dumps({"type": "purchase", "member_id": member, "amount": 1250, "currency": "USD",
                           "source_id": f"{run}-open-{index}"}).encode()
        return "POST", "/v1/events", {"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                                      "Idempotency-Key": f"{run}-open-{index}"}, body
    return make


def balance_request(key: str, members: list[str]):
    def make(index: int):
        return "GET", f"/v1/members/{members[(index * 7919) % len(members)]}", {"Authorization": f"Bearer {key}"}, None
    return make


# --------------------------------------------------------------------------- one database


ALL_SCENARIOS = ("H", "T", "S", "A", "A1", "B", "R", "D", "open")
CLOSED_LOOP = ("H", "T", "S", "A", "A1", "B", "R", "D")
BATCH_SIZE = 500
REPLAY_MEMBERS = 1000


def bench_database(kind: str, duration: int, connections: int, workers: int,
                   scenarios: tuple[str, ...] = ALL_SCENARIOS, rounds: int = 1, batches_in_flight: int = 2) -> dict:
    """Each closed-loop scenario ``rounds`` times, in turn (H, T, S, A, … then again), and its median.

    The three servers (ceilings, the service, the replay) run side by side,
    idle but for the one under load, so that a machine busier in one minute
    than in the next moves every scenario of a round alike instead of one
    scenario's figure.
    """
    workdir = Path(tempfile.mkdtemp(prefix=f"loyalty-bench-{kind}-"))
    url = fresh_database(kind, workdir)
    key, members_file = prepare_service(url, workdir, replay_members=REPLAY_MEMBERS if "S" in scenarios else 0)
    ceiling.prepare(url)
    members = members_file.read_text().split()
    one_member = workdir / "one-member.txt"
    one_member.write_text(members[0] + "\n")
    run = uuid.uuid4().hex[:8]
    env = {"API_KEY": key, "MEMBERS_FILE": str(members_file), "RUN": run}
    runs: dict[str, list[dict]] = {name: [] for name in CLOSED_LOOP if name in scenarios}
    results: dict = {}
    with ExitStack() as servers:
        ceilings = servers.enter_context(gunicorn("bench.ceiling:create()", url, workers))
        service = servers.enter_context(gunicorn("app:app", url, workers))
        replays = None
        if "S" in scenarios:
            replays = servers.enter_context(gunicorn("bench.ceiling:replay()", url, workers, {
                **env, "MEMBERS_FILE": str(workdir / "replay-members.txt")}))
        targets = {  # name: server, path, wrk script, and for the service's scenarios what the script reads
            "H": (ceilings, "/hello", None, None), "T": (ceilings, "/tx", "ceiling_post.lua", None),
            "S": (replays, "/sql-accrual", "ceiling_post.lua", None),
            "A": (service, "/v1/events", "accrual.lua", env),
            "A1": (service, "/v1/events", "accrual.lua", {**env, "MEMBERS_FILE": str(one_member)}),
            "B": (service, "/v1/events/batch", "batch.lua", {**env, "BATCH_SIZE": str(BATCH_SIZE)}),
            "R": (service, "/v1/members", "balance.lua", env), "D": (service, "/v1/members", "redemption.lua", env),
        }
        for round_number in range(rounds):
            for name in runs:
                base, path, script, script_env = targets[name]
                script_env = {**script_env, "RUN": f"{run}-{round_number}-{name}"} if script_env else {}
                storage = kind == "postgres" and name == "A" and round_number == 0
                if storage:
                    events_before, size_before = count_events(url), storage_bytes(url)
                if name == "B":
                    measured = wrk(base, path, script, duration, batches_in_flight, script_env, timeout=60)
                else:
                    measured = wrk(base, path, script, duration, connections, script_env)
                runs[name].append(measured)
                if storage:
                    results["bytes_per_accrual"] = storage_per_accrual(
                        size_before, storage_bytes(url), count_events(url) - events_before)
        results.update({name: _median(measured) for name, measured in runs.items()})
        if "A1" in runs:  # accrual.lua's source_id is its RUN, a dash and a number
            results["A1_kept"] = (sum(measured["accepted"] for measured in runs["A1"]),
                                  count_events(url, f"{run}-%-A1-%"), connections * rounds)
        replay_members = workdir / "replay-members.txt"
        results["mismatches"] = ledger_mismatches(
            url, set(replay_members.read_text().split()) if replay_members.exists() else set())
        if "open" in scenarios and "A" in results:
            results["A_open"] = open_loop(service, accrual_request(key, members, run), results["A"]["rps"] / 2,
                                          duration)
        if "open" in scenarios and "R" in results:
            results["R_open"] = open_loop(service, balance_request(key, members), results["R"]["rps"] / 2, duration)
    results["rounds"] = {name: [measured["rps"] for measured in runs[name]] for name in runs}
    shutil.rmtree(workdir, ignore_errors=True)
    return results


def _median(runs: list[dict]) -> dict:
    """The run with the median throughput (the lower middle one of an even number)."""
    return sorted(runs, key=lambda measured: measured["rps"])[(len(runs) - 1) // 2]


def report(kind: str, r: dict) -> None:
    print(f"\n== {kind} ==")
    print(f"{'':4}{'what':44}{'req/s':>9}{'p50':>10}{'p99':>10}{'errors':>8}")
    names = {"H": "ceiling H: Flask hello world", "T": "ceiling T: insert + counter update",
             "S": "ceiling S: an accrual's own statements",
             "A": "A: POST /v1/events, 10,000 members", "A1": "A1: POST /v1/events, one member",
             "B": f"B: POST /v1/events/batch of {BATCH_SIZE} (batches)",
             "R": "R: GET /v1/members/{id}", "D": "D: POST …/redemptions"}
    for name, label in names.items():
        if row := r.get(name):
            decimals = 1 if name == "B" else 0  # batches of 500 a second
            print(f"{name:4}{label:44}{row['rps']:9.{decimals}f}{row['p50'] or '':>10}{row['p99'] or '':>10}"
                  f"{row['non_2xx']:8d}")
    for name, label in (("A_open", "A open loop at half of max"), ("R_open", "R open loop at half of max")):
        if o := r.get(name):
            print(f"{'':4}{label:44}{o.rate:9.0f}{o.p50_ms:8.1f}ms{o.p99_ms:8.1f}ms{o.errors:8d}")
    rps = {name: row["rps"] for name, row in r.items() if name in names}
    if {"A", "T"} <= rps.keys():
        print(f"A / T = {rps['A'] / rps['T']:.2f}   (aim ≥ 0.35)"
              + (f"      A / H = {rps['A'] / rps['H']:.2f}" if "H" in rps else ""))
    if {"A", "S", "T"} <= rps.keys():
        print(f"S / T = {rps['S'] / rps['T']:.2f}   A / S = {rps['A'] / rps['S']:.2f}"
              "   (the accrual's SQL alone, and what the app adds to it)")
    if {"A", "B", "T"} <= rps.keys():
        events = rps["B"] * BATCH_SIZE
        print(f"B: {events:,.0f} events/s; B / A = {events / rps['A']:.1f}×, B / T = {events / rps['T']:.2f}"
              "   (aim 2,000 events/s, ≥ 5× and ≥ T)")
    if {"A", "A1"} <= rps.keys():
        print(f"A1 / A = {rps['A1'] / rps['A']:.2f}  (one member vs 10,000; target ≥ 0.5)")
    if "A1_kept" in r:
        accepted, recorded, in_flight = r["A1_kept"]
        verdict = "nothing lost" if 0 <= recorded - accepted <= in_flight else "LOST OR DOUBLED"
        print(f"A1, {verdict}: {accepted} accruals answered 201, {recorded} recorded (up to {in_flight} more:"
              " the requests in flight when wrk stops are recorded unanswered)")
    print(f"ledger after the run: {r['mismatches']} members whose balance ≠ Σ entries or Σ lots (must be 0;"
          " ceiling S's members left out)")
    if "A_open" in r and "R_open" in r:
        print(f"p99 at half load: accrual {r['A_open'].p99_ms:.1f} ms, balance {r['R_open'].p99_ms:.1f} ms"
              "  (target ≤ 50)")
    if any(len(rates) > 1 for rates in r["rounds"].values()):
        print("each round, req/s (the medians above): " + ";  ".join(
            f"{name} {' / '.join(f'{rate:.0f}' for rate in rates)}" for name, rates in r["rounds"].items()))
    if "bytes_per_accrual" in r:
        durable, with_key = r["bytes_per_accrual"]
        print(f"storage per accrual, indexes included: {durable:.0f} bytes durable right after the run, day"
              f" counters included (target ≤ 2,048; bench/storage.py also measures them purged), {with_key:.0f}"
              " while its idempotency key is kept")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (same for every server)")
    parser.add_argument("--scenarios", default=",".join(ALL_SCENARIOS),
                        help="which of H,T,S,A,A1,B,R,D,open to run (default all; open needs A and/or R)")
    parser.add_argument("--batches-in-flight", type=int, default=os.cpu_count(),
                        help="B: batches sent at once (default: one a core)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="closed-loop measurements of each scenario, taken in turn; the median is reported")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: run `make bench-deps` (Debian package wrk)")
    print(f"gunicorn --workers {args.workers}, wrk -t2 -c{args.connections} -d{args.duration}s, "
          f"median of {args.rounds} rounds, {os.cpu_count()} CPUs, load generator on the same machine")
    for kind in args.databases.split(","):
        report(kind, bench_database(kind, args.duration, args.connections, args.workers,
                                    tuple(args.scenarios.split(",")), args.rounds, args.batches_in_flight))


if __name__ == "__main__":
    main()
