"""Scheduled jobs: ``flask --app app jobs run [--now RFC3339] [--batch-size N] [--step NAME] [--workers N]``.

``STEPS`` is the registry, run in its order. A step is a service function
``run(session, now, *, batch_size=…) -> SweepResult | int`` (the count of
what it did) that commits its own batches, is idempotent (running it twice,
or late, changes nothing more than running it once on time) and is safe to
run from several hosts, or ``--workers`` threads, at once. To add one,
append it::

    STEPS.append(Step("deliver-webhooks", "deliveries sent", deliver_due))

Every step sees the same ``now``: the clock when the run starts, or
``--now`` to replay a past moment (never a future one: that would expire
points early).
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from loyalty import clock
from loyalty.commands.webhooks import deliver_webhooks, worker
from loyalty.db.transactions import write_transaction
from loyalty.extensions import db
from loyalty.http.idempotency import purge_expired
from loyalty.integrations.stripe import gateway_for
from loyalty.services.birthdays import award_birthdays
from loyalty.services.expiry import expire_inactive, expire_points
from loyalty.services.pending import release_pending
from loyalty.services.redating import redate_lots
from loyalty.services.redemptions import expire_unused
from loyalty.services.reminders import remind_expiring_points, remind_expiring_tiers
from loyalty.services.retention import purge_counters as purge_counter_rows
from loyalty.services.stripe_sweep import deactivate_orphan_codes
from loyalty.services.sweep import SweepResult
from loyalty.services.tier_review import review_tiers

MAX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Step:
    name: str
    counts: str  # what the number means, e.g. "lots expired"
    run: Callable[..., SweepResult | int]  # run(session, now, batch_size=N)


def expire_codes(session: Session, now: datetime, *, batch_size: int = 1000) -> SweepResult:
    """Issued redemption codes past their validity become ``expired``, a batch per transaction."""
    result = SweepResult()
    while True:
        with write_transaction(session):
            done = expire_unused(session, now, limit=batch_size)
        result.done += done
        result.batches += 1
        if done < batch_size:
            return result


def purge_idempotency_keys(session: Session, now: datetime, *, batch_size: int = 5000) -> SweepResult:
    """Stored answers to keyed requests older than IDEMPOTENCY_KEY_RETENTION_HOURS are dropped."""
    keep = timedelta(hours=current_app.config["IDEMPOTENCY_KEY_RETENTION_HOURS"])
    return SweepResult(done=purge_expired(session, now, keep, batch_size=batch_size))


def purge_counters(session: Session, now: datetime, *, batch_size: int = 1000) -> SweepResult:
    """Limit, cap and qualifying-point rows no rule can count in any more, kept COUNTER_RETENTION_DAYS longer."""
    keep = timedelta(days=current_app.config["COUNTER_RETENTION_DAYS"])
    return purge_counter_rows(session, now, keep, batch_size=batch_size)


def sweep_stripe_codes(session: Session, now: datetime, *, batch_size: int = 100) -> SweepResult:
    """Active promotion codes of ours whose redemption never committed are deactivated at Stripe."""
    config = current_app.config
    gateway = gateway_for(config)
    if gateway is None:
        return SweepResult()
    return deactivate_orphan_codes(session, gateway, now, grace=timedelta(seconds=config["STRIPE_SWEEP_GRACE_SECONDS"]),
                                   lookback=timedelta(hours=config["STRIPE_SWEEP_LOOKBACK_HOURS"]),
                                   batch_size=batch_size)


def send_reminders(session: Session, now: datetime, *, batch_size: int = 1000) -> SweepResult:
    """``points.expiring`` and ``tier.expiring``, each once, POINTS_/TIER_EXPIRING_NOTICE_DAYS ahead."""
    config = current_app.config
    points = remind_expiring_points(session, now, timedelta(days=config["POINTS_EXPIRING_NOTICE_DAYS"]),
                                    batch_size=batch_size)
    tiers = remind_expiring_tiers(session, now, timedelta(days=config["TIER_EXPIRING_NOTICE_DAYS"]),
                                  batch_size=batch_size)
    return SweepResult(done=points.done + tiers.done, batches=points.batches + tiers.batches)


STEPS: list[Step] = [
    Step("release-pending", "pending lots released", release_pending),
    Step("redate-lots", "lots re-dated to a new policy", redate_lots),
    Step("expire-points", "lots expired", expire_points),
    Step("expire-inactive", "lots expired for inactivity", expire_inactive),
    Step("review-tiers", "tier holds re-evaluated", review_tiers),
    Step("award-birthdays", "birthdays awarded", award_birthdays),
    Step("expire-codes", "redemption codes expired", expire_codes),
    Step("sweep-stripe-codes", "orphan promotion codes deactivated", sweep_stripe_codes),
    Step("send-reminders", "expiry reminders sent", send_reminders),
    Step("purge-idempotency-keys", "idempotency keys forgotten", purge_idempotency_keys),
    Step("purge-counters", "counter rows forgotten", purge_counters),
    Step("deliver-webhooks", "webhook deliveries sent", deliver_webhooks),
]


@dataclass(frozen=True)
class StepReport:
    step: Step
    result: SweepResult | None
    seconds: float
    error: str | None = None

    def line(self) -> str:
        if self.error:
            return f"{self.step.name:<18} FAILED after {self.seconds:.2f} s: {self.error}"
        r = self.result
        extra = f", {r.busy} members busy (next run)" if r.busy else ""
        return (f"{self.step.name:<18} {r.done:>9,} {self.step.counts}"
                f"  ({r.batches} batches{extra})  {self.seconds:.2f} s")


def run_steps(session: Session, now: datetime, *, batch_size: int | None = None,
              only: tuple[str, ...] = (), workers: int = 1, app=None) -> list[StepReport]:
    """Run the registered steps in order; a failing step is reported and the others still run.

    With ``workers`` > 1 each step runs in that many threads at once, each
    with its own session (``app`` gives them their app context): the steps
    are safe to run concurrently, so on PostgreSQL they share the work.
    """
    reports = []
    options = {"batch_size": batch_size} if batch_size else {}
    for step in STEPS:
        if only and step.name not in only:
            continue
        started = time.perf_counter()
        try:
            if workers > 1:
                result = _in_threads(app, step, now, options, workers)
            else:
                result = _as_result(step.run(session, now, **options))
        except Exception as error:  # noqa: BLE001 - one broken step must not stop expiry or tiers
            session.rollback()
            reports.append(StepReport(step, None, time.perf_counter() - started, f"{type(error).__name__}: {error}"))
            continue
        reports.append(StepReport(step, result, time.perf_counter() - started))
    return reports


def _as_result(outcome) -> SweepResult:
    return outcome if isinstance(outcome, SweepResult) else SweepResult(done=int(outcome or 0))


def _in_threads(app, step: Step, now: datetime, options: dict, workers: int) -> SweepResult:
    results: list[SweepResult | None] = [None] * workers
    errors: list[Exception] = []

    def work(index: int) -> None:
        with app.app_context():
            try:
                results[index] = _as_result(step.run(db.session(), now, **options))
            except Exception as error:  # noqa: BLE001 - raised in the caller below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(i,), name=f"{step.name}-{i}") for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return SweepResult(done=sum(r.done for r in results), batches=sum(r.batches for r in results),
                       busy=max(r.busy for r in results), stopped=any(r.stopped for r in results))


def parse_now(text: str | None) -> datetime:
    if text is None:
        return clock.now()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an RFC 3339 timestamp like 2027-03-01T05:00:00Z") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give a timezone: 2027-03-01T05:00:00Z or 2027-03-01T00:00:00-05:00")
    if moment > clock.now() + MAX_CLOCK_SKEW:
        raise click.BadParameter("may not be in the future: points would expire early")
    return moment.astimezone(clock.now().tzinfo)


jobs = AppGroup("jobs", help="Scheduled work: expiry, tiers, pending points, birthdays, codes.")


@jobs.command("run")
@click.option("--now", "now_text", metavar="RFC3339", help="Act as of this moment (catch up or replay).")
@click.option("--batch-size", type=click.IntRange(1, 1_000_000), default=None,
              help="Rows per transaction (each step has its own default).")
@click.option("--step", "only", multiple=True, metavar="NAME", help="Run only this step (repeatable; see jobs list).")
@click.option("--workers", type=click.IntRange(1, 32), default=1, show_default=True,
              help="Run each step in this many threads at once (PostgreSQL: use more cores).")
def jobs_run(now_text, batch_size, only, workers):
    """Run every step once; safe to run often, late, or from several hosts at once."""
    unknown = set(only) - {step.name for step in STEPS}
    if unknown:
        raise click.BadParameter(f"unknown step(s) {', '.join(sorted(unknown))}; see `jobs list`",
                                 param_hint="--step")
    now = parse_now(now_text)
    click.echo(f"jobs run as of {clock.to_rfc3339(now)}")
    reports = run_steps(db.session, now, batch_size=batch_size, only=only, workers=workers,
                        app=current_app._get_current_object())
    for report in reports:
        click.echo(report.line(), err=report.error is not None)
    if any(report.error for report in reports):
        raise SystemExit(1)


@jobs.command("list")
def jobs_list():
    """The steps, in the order a run takes them."""
    for step in STEPS:
        click.echo(f"{step.name:<18} {step.counts}")


jobs.add_command(worker)
