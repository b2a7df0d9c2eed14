"""``flask --app app jobs run|list``: one line per step, --now to replay, a failing step reported."""

import pytest

from loyalty.commands import jobs as jobs_module
from loyalty.commands.jobs import STEPS, Step

EARNED = "2026-05-04T16:00:00Z"


def lines(result):
    return [line for line in result.output.splitlines() if line.strip()]


def test_run_as_of_a_moment_reports_every_step(runner, jobs, at, db_backend):
    members = jobs.seed(2, EARNED, dollars=10)
    with at("2027-06-01T00:00:00Z"):
        result = runner.invoke(args=["jobs", "run", "--now", "2027-05-04T16:00:00Z"])
    assert result.exit_code == 0, result.output
    out = lines(result)
    assert out[0] == "jobs run as of 2027-05-04T16:00:00Z"
    assert [line.split()[0] for line in out[1:]] == [step.name for step in STEPS]
    expire_line = next(line for line in out if line.startswith("expire-points"))
    assert expire_line.split()[1:4] == ["4", "lots", "expired"]
    assert {jobs.member(m).balance for m in members} == {0}
    with at("2027-06-01T00:00:00Z"):
        again = runner.invoke(args=["jobs", "run", "--now", "2027-05-04T16:00:00Z", "--step", "expire-points"])
    assert again.exit_code == 0
    assert [line.split()[:2] for line in lines(again)[1:]] == [["expire-points", "0"]]


@pytest.mark.parametrize(("now", "message"), [
    ("yesterday", "is not an RFC 3339 timestamp"),
    ("2027-05-04T16:00:00", "give a timezone"),
    ("2027-08-01T00:00:00Z", "may not be in the future"),
])
def test_bad_now_is_refused_before_anything_runs(runner, at, now, message):
    with at("2027-06-01T00:00:00Z"):
        result = runner.invoke(args=["jobs", "run", "--now", now])
    assert result.exit_code == 2
    assert message in result.output


def test_unknown_step_is_refused(runner):
    result = runner.invoke(args=["jobs", "run", "--step", "expire-everything"])
    assert result.exit_code == 2
    assert "unknown step(s) expire-everything" in result.output


def test_a_failing_step_is_reported_and_the_others_still_run(runner, jobs, at):
    [member_id] = jobs.seed(1, EARNED, dollars=10)

    def broken(session, now, batch_size=10):
        raise RuntimeError("the webhook receiver is down")

    STEPS.insert(0, Step("deliver-webhooks", "deliveries sent", broken))
    try:
        with at("2027-06-01T00:00:00Z"):
            result = runner.invoke(args=["jobs", "run"])
    finally:
        STEPS.pop(0)
    assert result.exit_code == 1
    assert "deliver-webhooks   FAILED" in result.output
    assert "RuntimeError: the webhook receiver is down" in result.output
    assert jobs.member(member_id).balance == 0
    assert jobs_module.STEPS[0].name == "release-pending"


def test_list_names_the_steps_in_order(runner):
    result = runner.invoke(args=["jobs", "list"])
    assert [line.split()[0] for line in lines(result)] == [step.name for step in STEPS]


def test_workers_share_a_step_and_expire_each_lot_once(runner, jobs, at, db_backend):
    members = jobs.seed(8, EARNED, dollars=10)
    with at("2027-06-01T00:00:00Z"):
        result = runner.invoke(args=["jobs", "run", "--now", "2027-05-04T16:00:00Z", "--step", "expire-points",
                                     "--workers", "2", "--batch-size", "3"])
    assert result.exit_code == 0, result.output
    assert lines(result)[1].split()[1] == "16"
    assert jobs.expired_once() == 16
    assert {jobs.member(m).balance for m in members} == {0}
    jobs.assert_ledger_whole()
