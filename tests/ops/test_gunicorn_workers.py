"""Under ``make run``'s gunicorn workers: /metrics adds every worker up, each request logs one
line, and a key gets its rate limit once, not once per worker.

Each test first makes sure at least two workers answered (else it proves nothing): requests
go out together, in rounds, until the workers' own metric files show it.
"""

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench.purchase import purchase
from tests.concurrency.servers import ROOT, post, race_http
from tests.ops.test_rate_limits import REDIS, redis_reachable
from tests.ops.workers import make_run, requests_per_worker

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")

WORKERS = 3
ROUNDS = 10
EVENTS = "/v1/events"
EVENTS_201 = ("loyalty_http_requests_total", (("endpoint", EVENTS), ("method", "POST"), ("status", "201")))
MEMBER = "/v1/members/<member_id>"


def get(base: str, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(f"{base}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def scrape(base: str) -> dict:
    status, _, text = get(base, "/metrics")
    assert status == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text.decode()) for s in family.samples}


def until_two_workers_answered(send_round, folder, endpoint, scratch) -> list:
    """Rounds of ``send_round()`` until two workers or more answered ``endpoint``; every answer."""
    answers = []
    for _ in range(ROUNDS):
        answers += send_round()
        if len(requests_per_worker(folder(), endpoint, scratch)) >= 2:
            return answers
    pytest.fail(f"one worker answered all of {len(answers)} requests sent together")


# --------------------------------------------------------------------------- metrics


def test_every_scrape_counts_the_accruals_of_every_worker(database_url, pos_key, tmp_path):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    with make_run(database_url, tmp_path / "server.log", WORKERS, TMPDIR=str(temporary)) as base:
        [folder] = temporary.glob("loyalty-metrics-*")  # made by the server, as it is named nowhere
        member = post(base, "/v1/members", {"external_id": uuid.uuid4().hex}, pos_key).body
        accruals = until_two_workers_answered(lambda: race_http([
            lambda: post(base, EVENTS, purchase(member["id"], uuid.uuid4().hex), pos_key)
            for _ in range(2 * WORKERS)]), lambda: folder, EVENTS, tmp_path)
        first, second = scrape(base), scrape(base)
    assert [reply.status for reply in accruals] == [201] * len(accruals)
    earned = member["points"]["lifetime_earned"] + sum(
        award["points"] for reply in accruals for award in reply.body["awarded"])
    for samples in (first, second):
        assert samples[EVENTS_201] == len(accruals)
        assert samples[("loyalty_points_issued_total", ())] == earned
    assert not folder.exists()  # removed when the server stopped


def test_the_metrics_folder_named_is_emptied_when_the_server_starts(database_url, pos_key, tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    subprocess.run([sys.executable, "-c", "from loyalty.observability import metrics; "
                    "metrics.HTTP_REQUESTS.labels('POST', '/v1/events', '201').inc(1000)"],
                   cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "PROMETHEUS_MULTIPROC_DIR": str(folder)},
                   check=True)
    assert list(folder.glob("counter_*.db"))  # a previous server's count
    with make_run(database_url, tmp_path / "server.log", 2, PROMETHEUS_MULTIPROC_DIR=str(folder)) as base:
        member = post(base, "/v1/members", {"external_id": uuid.uuid4().hex}, pos_key).body
        assert post(base, EVENTS, purchase(member["id"], uuid.uuid4().hex), pos_key).status == 201
        assert scrape(base)[EVENTS_201] == 1


# --------------------------------------------------------------------------- logs


def test_each_request_writes_one_line_the_apps_json_and_no_access_line(database_url, pos_key, tmp_path):
    log = tmp_path / "server.log"
    asked = {f"req-{uuid.uuid4().hex}": f"/v1/members/mem_{uuid.uuid4().hex}" for _ in range(6)}
    with make_run(database_url, log, 2) as base:
        for request_id, path in asked.items():
            status, _, _ = get(base, path, {"Authorization": f"Bearer {pos_key}", "X-Request-Id": request_id})
            assert status == 404
    lines = log.read_text().splitlines()  # standard output and error both
    for request_id, path in asked.items():
        about = [line for line in lines if path in line]
        assert len(about) == 1, about
        entry = json.loads(about[0])
        assert entry["logger"] == "loyalty.request" and entry["request_id"] == request_id


# --------------------------------------------------------------------------- rate limits


@pytest.mark.parametrize("store", ["default", "redis"])
def test_a_key_gets_its_limit_once_whatever_the_number_of_workers(database_url, pos_key, tmp_path, store):
    settings = {"RATELIMIT_PER_KEY": "5 per minute", "RATELIMIT_KEY_PREFIX": f"loyalty-test-{uuid.uuid4().hex}",
                "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    if store == "redis":
        if not redis_reachable():
            pytest.skip(f"Redis is not reachable at {REDIS[0]}:{REDIS[1]}")
        settings["RATELIMIT_STORAGE_URI"] = f"redis://{REDIS[0]}:{REDIS[1]}/0"
    headers = {"Authorization": f"Bearer {pos_key}"}
    with make_run(database_url, tmp_path / "server.log", WORKERS, **settings) as base:
        answers = until_two_workers_answered(
            lambda: race_http([lambda: get(base, "/v1/members/mem_nope", headers) for _ in range(2 * WORKERS)]),
            lambda: tmp_path / "metrics", MEMBER, tmp_path)
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [404] * 5 + [429] * (len(answers) - 5)
    for status, headers, raw in answers:
        if status == 429:
            error = json.loads(raw)["error"]
            assert error["code"] == "rate_limited" and set(error) == {"code", "message", "details"}
            assert 1 <= int(headers["Retry-After"]) <= 60
