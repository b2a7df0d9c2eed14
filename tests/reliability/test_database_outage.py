"""PostgreSQL goes away under load and comes back: 503s while it is gone, whole ledger after.

The shared PostgreSQL server is never restarted (other test workers use it).
Instead gunicorn reaches it through a TCP proxy in this process, which the
tests cut (every connection closed, new ones turned away: what clients see of
a restart) or stall (new connections accepted and never answered: a network
partition), or the tests terminate the app's own backends with
``pg_terminate_backend`` while its requests wait on a lock.

While the database is away every request answers ``503 unavailable`` in the
contract's error shape with ``Retry-After``: never a 500, never a hang. Once
it is back every request succeeds, including the first ones on connections
pooled before the outage. Each request that got a 503 is retried with its
key and body; then every purchase is in the ledger exactly once and each
balance equals the sum of its entries.
"""

import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from config import TestingConfig
from loyalty import create_app
from loyalty.extensions import db
from tests.concurrency.racing import ledger_state, quiet_day, rfc3339
from tests.concurrency.servers import HttpReply, gunicorn_server, post

pytestmark = pytest.mark.parametrize("db_backend", ["postgres"])

APP_NAME = "loyalty-outage-test"  # application_name of gunicorn's connections, to terminate only them
LOADERS = 4
REQUEST_TIMEOUT = 20  # a request still unanswered after this long hangs: gunicorn's own timeout is 30 s
WELCOME = 50


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to the database; ``cut``, ``stall`` and ``restore`` it.

    The listening socket stays open all along, so no other test process can
    take the port meanwhile: a cut proxy resets each new connection at once
    instead of refusing it, which a client sees the same way.
    """

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.mode = "forward"
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        """Like a restart: every connection closed, new ones turned away."""
        self.mode = "refuse"
        self._sever()

    def stall(self) -> None:
        """Like a partition: every connection closed, new ones accepted and never answered."""
        self.mode = "stall"
        self._sever()

    def restore(self) -> None:
        self.mode = "forward"

    def close(self) -> None:
        self._open = False
        self._sever()
        self._listener.close()

    def _accept(self) -> None:
        while self._open:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.mode == "refuse":
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
                client.close()
                continue
            client.settimeout(None)
            self._track(client)
            if self.mode == "stall":
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            self._track(upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _sever(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


@dataclass
class Attempt:
    member_id: str
    key: str
    body: dict
    after_recovery: bool
    reply: HttpReply | None = None
    error: str | None = None


class Load:
    """``LOADERS`` threads posting purchases (one member each) until stopped; every attempt is kept."""

    def __init__(self, base: str, api_key: str, member_ids: list[str]):
        self.base, self.api_key = base, api_key
        self.attempts: list[Attempt] = []
        self.recovered = threading.Event()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(m,), daemon=True) for m in member_ids]

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        for thread in self._threads:
            thread.join(REQUEST_TIMEOUT + 5)
        assert not any(thread.is_alive() for thread in self._threads), "a request never finished"

    def _run(self, member_id: str) -> None:
        while not self._stop.is_set():
            attempt = Attempt(member_id, uuid.uuid4().hex, purchase(member_id), self.recovered.is_set())
            try:
                attempt.reply = post(self.base, "/v1/events", attempt.body, self.api_key, attempt.key,
                                     timeout=REQUEST_TIMEOUT)
            except OSError as error:
                attempt.error = repr(error)
            self.attempts.append(attempt)
            time.sleep(0.01)

    def count(self, status: int) -> int:
        return sum(1 for a in list(self.attempts) if a.reply is not None and a.reply.status == status)

    def every_member_succeeded_since_recovery(self, times: int) -> bool:
        attempts = list(self.attempts)
        return all(sum(1 for a in attempts if a.member_id == member_id and a.after_recovery
                       and a.reply is not None and a.reply.status == 201) >= times
                   for member_id in {a.member_id for a in attempts})


def purchase(member_id: str) -> dict:
    return {"type": "purchase", "member_id": member_id, "amount": 100, "currency": "USD",
            "source_id": uuid.uuid4().hex, "occurred_at": rfc3339(quiet_day())}


def wait_for(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.05)


def assert_unavailable(reply: HttpReply) -> None:
    assert reply.body["error"]["code"] == "unavailable", reply.body
    assert set(reply.body["error"]) == {"code", "message", "details"}
    assert reply.headers["Retry-After"] == "1"


def assert_clean(load: Load) -> None:
    """No hang, no 500; 503s in the contract's shape; after recovery nothing but 201."""
    assert [a.error for a in load.attempts if a.error] == []
    statuses = {a.reply.status for a in load.attempts}
    assert statuses <= {201, 503}, statuses
    for attempt in load.attempts:
        if attempt.reply.status == 503:
            assert_unavailable(attempt.reply)
    assert {a.reply.status for a in load.attempts if a.after_recovery} == {201}


def retry_unavailable_and_check_ledger(app, base: str, api_key: str, load: Load) -> None:
    """Each 503'd purchase retried with its key: afterwards every purchase is recorded once."""
    for attempt in load.attempts:
        if attempt.reply.status == 503:
            retry = post(base, "/v1/events", attempt.body, api_key, attempt.key, timeout=REQUEST_TIMEOUT)
            assert retry.status == 201, retry.body
    for member_id in {a.member_id for a in load.attempts}:
        purchases = sum(1 for a in load.attempts if a.member_id == member_id)
        state = ledger_state(app, member_id)
        assert state.events == 1 + purchases  # the enrolment, then each purchase once
        assert state.balance == state.entries_sum == WELCOME + purchases
        assert state.active_lots_remaining == state.balance and state.negative_lots == 0
        assert state.mismatches == []


@pytest.fixture
def proxy(database_url):
    url = sa.engine.make_url(database_url)
    proxy = TcpProxy((url.host, url.port or 5432))
    yield proxy
    proxy.close()


@pytest.fixture
def server(database_url, proxy, tmp_path):
    """gunicorn (2 workers) reaching PostgreSQL through the proxy, with the engine options the app ships."""
    url = sa.engine.make_url(database_url).set(host="127.0.0.1", port=proxy.port,
                                               query={"application_name": APP_NAME})
    log = tmp_path / "gunicorn.log"
    with gunicorn_server(url.render_as_string(hide_password=False), workers=2, log=log) as base:
        yield base
    print(log.read_text()[-20000:])  # shown by pytest when the test failed


@pytest.fixture
def members(api) -> list[str]:
    return [api.enroll()["id"] for _ in range(LOADERS)]


def test_a_restart_under_load_answers_503_then_every_request_succeeds(app, members, proxy, server, pos_key,
                                                                      db_backend):
    with Load(server, pos_key, members) as load:
        wait_for(lambda: load.count(201) >= 2 * LOADERS, "requests before the outage")
        proxy.cut()
        wait_for(lambda: load.count(503) >= 2 * LOADERS, "503s while the database is away")
        time.sleep(1)  # stay away a little longer
        proxy.restore()
        load.recovered.set()
        wait_for(lambda: load.every_member_succeeded_since_recovery(3), "recovery")
    assert_clean(load)
    retry_unavailable_and_check_ledger(app, server, pos_key, load)


@pytest.mark.direct_connection
def test_backends_terminated_mid_request_answer_503_then_every_request_succeeds(
        app, members, server, pos_key, database_url, db_backend):
    engine = sa.create_engine(database_url)
    try:
        with Load(server, pos_key, members) as load:
            wait_for(lambda: load.count(201) >= 2 * LOADERS, "requests before the outage")
            with engine.begin() as holder:
                holder.execute(sa.text("SELECT id FROM members WHERE id = :m FOR UPDATE"), {"m": members[0]})
                wait_for(lambda: app_backends(engine, waiting_on_a_lock=True), "a request waiting on the lock")
                terminated = terminate_app_backends(engine)
            wait_for(lambda: not set(terminated) & set(app_backends(engine)), "the backends to exit")
            load.recovered.set()
            wait_for(lambda: load.every_member_succeeded_since_recovery(3), "recovery")
    finally:
        engine.dispose()
    assert terminated
    assert load.count(503) >= 1  # at least the request that waited on the lock
    assert_clean(load)
    retry_unavailable_and_check_ledger(app, server, pos_key, load)


def app_backends(engine, waiting_on_a_lock: bool = False) -> list[int]:
    """Process ids of gunicorn's connections to this test's database."""
    with engine.connect() as connection:
        return list(connection.scalars(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = :name"
            + (" AND wait_event_type = 'Lock'" if waiting_on_a_lock else "")), {"name": APP_NAME}))


def terminate_app_backends(engine) -> list[int]:
    with engine.connect() as connection:
        rows = connection.execute(sa.text(  # in the select list: run only for the rows the WHERE keeps
            "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = :name"), {"name": APP_NAME})
        return [pid for pid, terminated in rows if terminated]


def test_the_first_requests_after_a_quiet_outage_succeed_on_connections_pooled_before_it(
        app, members, proxy, server, pos_key, db_backend):
    """No request sees the outage, so nothing has told the pools their connections are dead."""
    for member_id in members:  # every worker pools a connection
        assert post(server, "/v1/events", purchase(member_id), pos_key).status == 201
    proxy.cut()
    time.sleep(0.5)
    proxy.restore()
    replies = [post(server, "/v1/events", purchase(m), pos_key, timeout=REQUEST_TIMEOUT) for m in members * 3]
    assert [r.status for r in replies] == [201] * len(replies), [r.body for r in replies]
    for member_id in members:
        state = ledger_state(app, member_id)
        assert state.balance == state.entries_sum == WELCOME + 4 and state.mismatches == []


def test_a_database_that_accepts_but_never_answers_fails_a_connection_in_seconds(database_url, db_backend):
    """Without psycopg's connect_timeout libpq waits forever: every request would hang until
    gunicorn killed its worker (a dropped connection, not a 503)."""
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (backlog), never answers
    url = sa.engine.make_url(database_url).set(host="127.0.0.1", port=silent.getsockname()[1])
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url.render_as_string(hide_password=False))
    outcome: list = []

    def connect():
        with app.app_context():
            try:
                db.engine.connect().close()
                outcome.append("connected")
            except sa.exc.OperationalError as error:
                outcome.append(error)

    thread = threading.Thread(target=connect, daemon=True)
    try:
        thread.start()
        thread.join(REQUEST_TIMEOUT)
        assert outcome, "the connection attempt hung"
        assert isinstance(outcome[0], sa.exc.OperationalError)
        assert "timeout" in str(outcome[0]).lower()
    finally:
        silent.close()


@pytest.mark.direct_connection
def test_a_connection_lost_under_the_rate_limiters_key_lookup_is_not_a_500(
        app, members, pos_key, database_url, db_backend):
    """The limiter looks the API key up first and swallows its errors; the view must then meet
    a usable session, not one stuck in a failed transaction. The idle ping is off here: it would
    replace the dead connection before the lookup, and a connection can die just after its ping."""
    url = sa.engine.make_url(database_url).set(query={"application_name": APP_NAME})
    bare = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url.render_as_string(hide_password=False),
                      DATABASE_PING_IDLE_SECONDS=None)
    client = bare.test_client()
    headers = {"Authorization": f"Bearer {pos_key}"}
    engine = sa.create_engine(database_url)
    try:
        assert client.get(f"/v1/members/{members[0]}", headers=headers).status_code == 200
        terminated = terminate_app_backends(engine)
        assert terminated
        wait_for(lambda: not set(terminated) & set(app_backends(engine)), "the backend to exit")
        response = client.get(f"/v1/members/{members[0]}", headers=headers)
        assert response.status_code in (200, 503), response.get_data(as_text=True)
        assert client.get(f"/v1/members/{members[0]}", headers=headers).status_code == 200
    finally:
        engine.dispose()
        with bare.app_context():
            db.engine.dispose()


@pytest.mark.slow
def test_a_partition_under_load_answers_503_within_the_connect_timeout_then_succeeds(
        app, members, proxy, server, pos_key, db_backend):
    with Load(server, pos_key, members) as load:
        wait_for(lambda: load.count(201) >= 2 * LOADERS, "requests before the partition")
        proxy.stall()
        wait_for(lambda: load.count(503) >= LOADERS, "503s during the partition", timeout=REQUEST_TIMEOUT * 2)
        proxy.restore()
        load.recovered.set()
        wait_for(lambda: load.every_member_succeeded_since_recovery(3), "recovery")
    assert_clean(load)
    retry_unavailable_and_check_ledger(app, server, pos_key, load)
