"""Reports, backtests, exports and member search read a streaming replica; tills never do.

The replica is made with pg_basebackup on a port of its own (tests/reliability/replica.py). Pausing
its replay makes it lag; stopping it takes it away. Either way the reads it served go to the
primary, and no till request fails or reads anything stale.
"""

import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest
import sqlalchemy as sa

from config import TestingConfig
from loyalty import create_app
from loyalty.db.replica import EXTENSION
from tests.concurrency.racing import ledger_state, quiet_day, rfc3339
from tests.concurrency.servers import gunicorn_server, post
from tests.conftest import ApiClient
from tests.reliability.replica import streaming_replica

pytestmark = pytest.mark.parametrize("db_backend", ["postgres"])

WINDOW = "from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def replica(postgres_database):
    with streaming_replica(postgres_database) as replica:
        yield replica


@pytest.fixture
def replica_running(replica):
    """The replica streaming and replaying, whatever a test did to it."""
    yield replica
    if not _answers(replica):
        replica.start()
    replica.execute("SELECT pg_wal_replay_resume()")


def _answers(replica) -> bool:
    try:
        replica.execute("SELECT 1")
        return True
    except sa.exc.OperationalError:
        return False


def app_with_replica(database_url, replica, max_lag: float):
    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url,
                      DATABASE_REPLICA_URL=replica.url_for(database_url),
                      REPLICA_MAX_LAG_SECONDS=max_lag, REPLICA_CHECK_SECONDS=0)


def members_total(admin: ApiClient) -> int:
    response = admin.get(f"/v1/reports/summary?{WINDOW}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["members"]["total"]


def wait_replayed(replica_app, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    with replica_app.app_context():
        replica = replica_app.extensions[EXTENSION]
        while replica.lag_seconds() != 0.0:
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.05)


def test_reports_read_the_replica_and_the_till_reads_the_primary(database_url, replica_running, api, admin_key,
                                                                 db_backend):
    replica_app = app_with_replica(database_url, replica_running, max_lag=3600)
    admin = ApiClient(replica_app.test_client(), admin_key)
    till = ApiClient(replica_app.test_client(), api.key)
    till.enroll()
    wait_replayed(replica_app)
    assert members_total(admin) == 1
    replica_running.execute("SELECT pg_wal_replay_pause()")
    member = till.enroll()
    accrual = till.purchase(member["id"], 1000)
    assert accrual["member"]["points"]["balance"] == 60  # the till's answer: its own write, from the primary
    assert till.member(member["id"])["points"]["balance"] == 60
    assert members_total(admin) == 1  # a report an hour's lag may serve: the paused replica's figure
    replica_running.execute("SELECT pg_wal_replay_resume()")
    wait_replayed(replica_app)
    assert members_total(admin) == 2


def test_a_replica_lagging_more_than_the_setting_is_not_read(database_url, replica_running, api, admin_key,
                                                              db_backend):
    replica_app = app_with_replica(database_url, replica_running, max_lag=0.5)
    admin = ApiClient(replica_app.test_client(), admin_key)
    replica_running.execute("SELECT pg_wal_replay_pause()")
    ApiClient(replica_app.test_client(), api.key).enroll()
    time.sleep(1)
    assert members_total(admin) == 1  # from the primary


def test_a_stopped_replica_is_not_read(database_url, replica_running, api, admin_key, db_backend):
    replica_app = app_with_replica(database_url, replica_running, max_lag=5)
    admin = ApiClient(replica_app.test_client(), admin_key)
    ApiClient(replica_app.test_client(), api.key).enroll()
    replica_running.stop()
    assert members_total(admin) == 1
    backtest = admin.post("/v1/rules/backtest", {"yaml": (_rules()), "from": "2026-01-01T00:00:00Z",
                                                 "to": "2026-12-31T00:00:00Z"})
    assert backtest.status_code == 200, backtest.get_json()


def _rules() -> str:
    from tests.conftest import ROOT

    return (ROOT / "rules" / "program.yaml").read_text()


def test_exports_and_member_search_read_the_replica(database_url, replica_running, api, admin_key, runner,
                                                    tmp_path, db_backend):
    replica_app = app_with_replica(database_url, replica_running, max_lag=3600)
    till = ApiClient(replica_app.test_client(), api.key)
    till.enroll(first_name="Ana")
    wait_replayed(replica_app)
    replica_running.execute("SELECT pg_wal_replay_pause()")
    till.enroll(first_name="Anabel")
    exported = tmp_path / "members.csv"
    result = replica_app.test_cli_runner().invoke(args=["members", "export", str(exported)])
    assert result.exit_code == 0, result.output
    assert "Anabel" not in exported.read_text() and "Ana" in exported.read_text()


@pytest.mark.parametrize("trouble", ["stop", "lag"])
def test_under_load_a_replica_stopped_or_lagging_fails_no_till_and_reports_keep_answering(
        app, database_url, replica_running, api, pos_key, admin_key, tmp_path, trouble, db_backend):
    members = [api.enroll()["id"] for _ in range(3)]
    settings = {"DATABASE_REPLICA_URL": replica_running.url_for(database_url), "REPLICA_MAX_LAG_SECONDS": "1",
                "REPLICA_CHECK_SECONDS": "0.2"}
    replies: dict[str, list] = {"till": [], "report": [], "stale": []}
    stop, troubled = threading.Event(), threading.Event()

    def till(member_id):
        balance = 0
        while not stop.is_set():
            body = {"type": "purchase", "member_id": member_id, "amount": 100, "currency": "USD",
                    "source_id": uuid.uuid4().hex, "occurred_at": rfc3339(quiet_day())}
            reply = post(server, "/v1/events", body, pos_key, timeout=20)
            replies["till"].append(reply)
            if reply.status == 201:  # the till's answer shows its own write: never stale
                answered = reply.body["member"]["points"]["balance"]
                if answered <= balance:
                    replies["stale"].append((balance, answered))
                balance = answered

    def reports():
        while not stop.is_set():
            request = urllib.request.Request(f"{server}/v1/reports/summary?{WINDOW}",
                                             headers={"Authorization": f"Bearer {admin_key}"})
            try:
                with urllib.request.urlopen(request, timeout=20) as response:
                    replies["report"].append((response.status, troubled.is_set()))
            except urllib.error.HTTPError as error:
                replies["report"].append((error.code, troubled.is_set()))
            time.sleep(0.05)

    with gunicorn_server(database_url, workers=2, log=tmp_path / "server.log", env=settings) as server:
        threads = [threading.Thread(target=till, args=(m,)) for m in members] + [threading.Thread(target=reports)]
        for thread in threads:
            thread.start()
        time.sleep(2)
        replica_running.stop() if trouble == "stop" else replica_running.execute("SELECT pg_wal_replay_pause()")
        troubled.set()
        wait_until = time.monotonic() + 30
        while sum(1 for _, late in replies["report"] if late) < 3 and time.monotonic() < wait_until:
            time.sleep(0.2)
        stop.set()
        for thread in threads:
            thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    assert replies["stale"] == []
    assert {r.status for r in replies["till"]} == {201}, [r.body for r in replies["till"] if r.status != 201][:3]
    assert {status for status, _ in replies["report"]} == {200}
    assert sum(1 for _, late in replies["report"] if late) >= 3  # answered while the replica was in trouble
    for member_id in members:
        state = ledger_state(app, member_id)
        assert state.balance == state.entries_sum and state.mismatches == []
