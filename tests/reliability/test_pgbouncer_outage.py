"""PostgreSQL restarts under load behind PgBouncer (transaction pooling): 503s, then every request succeeds.

gunicorn reaches a PgBouncer of the test's own (deploy/pgbouncer.ini) that reaches PostgreSQL through
the cuttable TCP proxy of test_database_outage: cutting it is a primary restart as PgBouncer sees
it. While PostgreSQL is away PgBouncer turns queries away ("cannot connect to server") and the
service answers 503 with Retry-After; after, everything succeeds; each 503'd purchase retried with
its key is then in the ledger exactly once, none lost or doubled.
"""

import time

import pytest
import sqlalchemy as sa

from tests.concurrency.pgbouncer import POOLER_ENV, pgbouncer_in_front_of
from tests.concurrency.servers import gunicorn_server, post
from tests.reliability import test_database_outage as outage
from tests.reliability.test_database_outage import (
    APP_NAME,
    LOADERS,
    REQUEST_TIMEOUT,
    Load,
    assert_clean,
    purchase,
    retry_unavailable_and_check_ledger,
    wait_for,
)

pytestmark = pytest.mark.parametrize("db_backend", ["postgres"])

members, proxy = outage.members, outage.proxy  # the outage tests' fixtures, shared


@pytest.fixture
def bouncer(proxy):
    with pgbouncer_in_front_of(proxy.port) as port:
        yield port


@pytest.fixture
def server(database_url, bouncer, tmp_path):
    url = sa.engine.make_url(database_url).set(host="127.0.0.1", port=bouncer, query={"application_name": APP_NAME})
    log = tmp_path / "gunicorn.log"
    with gunicorn_server(url.render_as_string(hide_password=False), workers=2, log=log, env=POOLER_ENV) as base:
        yield base
    print(log.read_text()[-20000:])


def test_a_restart_behind_pgbouncer_under_load_answers_503_then_every_request_succeeds(
        app, members, proxy, server, pos_key, db_backend):
    with Load(server, pos_key, members) as load:
        wait_for(lambda: load.count(201) >= 2 * LOADERS, "requests before the restart")
        proxy.cut()
        wait_for(lambda: load.count(503) >= 2 * LOADERS, "503s while PostgreSQL is away")
        time.sleep(1)
        before = load.count(201)
        proxy.restore()
        # PgBouncer retries its server login every server_login_retry (1 s) and turns clients away
        # meanwhile: recovered is the first success after the restart, within a few seconds.
        wait_for(lambda: load.count(201) > before, "a first success after the restart", timeout=10)
        load.recovered.set()
        wait_for(lambda: load.every_member_succeeded_since_recovery(3), "recovery")
    assert_clean(load)
    retry_unavailable_and_check_ledger(app, server, pos_key, load)


def test_the_first_requests_after_a_quiet_restart_behind_pgbouncer_succeed(
        app, members, proxy, server, pos_key, db_backend):
    for member_id in members:
        assert post(server, "/v1/events", purchase(member_id), pos_key).status == 201
    proxy.cut()
    time.sleep(0.5)
    proxy.restore()
    time.sleep(1.5)  # PgBouncer's next server login (server_login_retry); no request saw the restart
    replies = [post(server, "/v1/events", purchase(m), pos_key, timeout=REQUEST_TIMEOUT) for m in members * 3]
    assert [r.status for r in replies] == [201] * len(replies), [r.body for r in replies]
