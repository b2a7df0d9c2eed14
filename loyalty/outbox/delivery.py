"""Delivering the outbox to merchants' endpoints: signed, retried with backoff, in order per member.

One round: **claim** due deliveries in a short transaction (a lease in
``locked_until``), **send** them outside any transaction, **record** the
outcomes in another. A worker killed between send and record leaves the
lease to run out; the delivery is then sent again with the same event id
(at least once; receivers de-duplicate on ``id``). It is never lost.

Order: a delivery is not sent while an earlier event of the same member to
the same endpoint is still undelivered and waiting (in backoff, or leased
to another worker). Claims are serialized (an advisory lock on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite) so two workers never split one member's events;
``FOR UPDATE SKIP LOCKED`` keeps a claim from waiting on rows being recorded.

Isolation: each endpoint is sent to by its own thread. A failed request
pauses its endpoint with the same exponential backoff (``failures``,
``paused_until``): the endpoint's other deliveries wait, untried, and then go
oldest first. So a receiver that hangs or answers 500 costs one timeout per
retry and delays no other endpoint. A delivery not made within three days
of its event is given up (``failed``, visible in the endpoint's log).
"""

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, func, or_, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, aliased

from loyalty import outbox
from loyalty.db.transactions import write_transaction
from loyalty.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from loyalty.observability import metrics
from loyalty.outbox.sending import USER_AGENT, Outcome, Outgoing, send_all, signature_header

log = logging.getLogger("loyalty.webhooks")

CLAIM_LOCK_KEY = 7_340_112_001  # pg_advisory_xact_lock key: "claiming webhook deliveries"


@dataclass(frozen=True)
class DeliverySettings:
    timeout: float = 5.0
    retry_base: timedelta = timedelta(seconds=30)
    retry_max_delay: timedelta = timedelta(hours=1)
    batch_size: int = 100
    concurrency: int = 8

    @property
    def lease(self) -> timedelta:
        """Longer than any send can take, so a live worker never loses its claim."""
        return timedelta(seconds=2 * self.timeout + 30)

    @classmethod
    def from_config(cls, config: Mapping) -> "DeliverySettings":
        return cls(
            timeout=float(config.get("WEBHOOK_TIMEOUT_SECONDS", 5.0)),
            retry_base=timedelta(seconds=float(config.get("WEBHOOK_RETRY_BASE_SECONDS", 30))),
            retry_max_delay=timedelta(seconds=float(config.get("WEBHOOK_RETRY_MAX_DELAY_SECONDS", 3600))),
            batch_size=int(config.get("WEBHOOK_BATCH_SIZE", 100)),
            concurrency=int(config.get("WEBHOOK_CONCURRENCY", 8)),
        )


@dataclass
class DeliveryReport:
    rounds: int = 0
    claimed: int = 0
    succeeded: int = 0
    failed: int = 0
    gave_up: int = 0
    deferred: int = 0
    outcomes: list[Outcome] = field(default_factory=list)


def backoff(settings: DeliverySettings, attempts: int) -> timedelta:
    """Delay after the ``attempts``-th failure: base × 2^(attempts-1), capped."""
    return min(settings.retry_base * 2 ** min(attempts - 1, 30), settings.retry_max_delay)


def deliver_due(session: Session, now: datetime, settings: DeliverySettings = DeliverySettings(), *,
                max_rounds: int | None = None, stop_after_send: bool = False,
                post: Callable | None = None) -> DeliveryReport:
    """Send what is due at ``now``, round after round, until nothing is due (or ``max_rounds``).

    ``stop_after_send`` returns right after the requests went out, recording
    nothing: what a worker killed at that moment leaves behind.
    """
    report = DeliveryReport()
    report.gave_up += give_up_expired(session, now)
    while max_rounds is None or report.rounds < max_rounds:
        claimed = claim(session, now, settings)
        if not claimed:
            break
        report.rounds += 1
        report.claimed += len(claimed)
        outcomes = send_all(claimed, settings.concurrency, settings.timeout, post)
        report.outcomes.extend(outcomes)
        if stop_after_send:
            break
        record(session, claimed, outcomes, now, settings, report)
    return report


def claim(session: Session, now: datetime, settings: DeliverySettings) -> list[Outgoing]:
    """Lease the due deliveries whose member has no earlier undelivered event waiting."""
    earlier = aliased(WebhookDelivery)
    paused = exists().where(WebhookEndpoint.id == WebhookDelivery.endpoint_id, WebhookEndpoint.paused_until > now)
    waiting_before = exists().where(
        earlier.endpoint_id == WebhookDelivery.endpoint_id,
        earlier.member_id == WebhookDelivery.member_id,
        earlier.status == "pending",
        earlier.event_seq < WebhookDelivery.event_seq,
        or_(earlier.next_attempt_at > now, earlier.locked_until > now),
    )
    with write_transaction(session):
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK_KEY})
        seqs = list(session.scalars(
            select(WebhookDelivery.seq)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
                   or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until <= now),
                   ~paused, ~waiting_before)
            .order_by(WebhookDelivery.event_seq, WebhookDelivery.seq)
            .limit(settings.batch_size)
            .with_for_update(skip_locked=True)
        ))
        if not seqs:
            return []
        session.execute(update(WebhookDelivery).where(WebhookDelivery.seq.in_(seqs))
                        .values(locked_until=now + settings.lease))
        deliveries = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.seq.in_(seqs))
            .order_by(WebhookDelivery.event_seq, WebhookDelivery.seq)
            .execution_options(populate_existing=True)
        ).all()
        endpoints = {e.id: e for e in session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.id.in_({d.endpoint_id for d in deliveries}))
            .execution_options(populate_existing=True))}
        timestamp = int(now.timestamp())
        claimed = []
        for delivery in deliveries:
            endpoint = endpoints[delivery.endpoint_id]
            body = json.dumps(outbox.payload(delivery.event), separators=(",", ":")).encode()
            claimed.append(Outgoing(
                seq=delivery.seq, endpoint_id=endpoint.id, url=endpoint.url, body=body,
                headers={
                    "Content-Type": "application/json", "User-Agent": USER_AGENT,
                    "Loyalty-Signature": signature_header(endpoint, timestamp, body, now),
                    "Loyalty-Event-Id": delivery.event.id, "Loyalty-Event-Type": delivery.event.type,
                    "Loyalty-Delivery-Id": delivery.id,
                },
            ))
    return claimed


def record(session: Session, claimed: list[Outgoing], outcomes: list[Outcome], now: datetime,
           settings: DeliverySettings, report: DeliveryReport) -> None:
    """Mark what was sent, schedule retries, pause failing endpoints; release the leases."""
    by_seq = {o.seq: o for o in outcomes}
    with write_transaction(session):
        deliveries = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.seq.in_(list(by_seq)))
            .execution_options(populate_existing=True)
        ).all()
        for delivery in deliveries:
            outcome = by_seq[delivery.seq]
            delivery.locked_until = None
            if not outcome.attempted:
                report.deferred += 1
                continue
            session.add(WebhookAttempt(delivery_seq=delivery.seq, attempted_at=now, duration_ms=outcome.duration_ms,
                                       status_code=outcome.status_code, error=outcome.error))
            delivery.attempts += 1
            delivery.last_attempt_at = now
            delivery.last_status_code = outcome.status_code
            delivery.last_error = outcome.error
            if outcome.succeeded:
                delivery.status = "succeeded"
                delivery.delivered_at = now
                report.succeeded += 1
                metrics.WEBHOOK_ATTEMPTS.labels("succeeded").inc()
                continue
            report.failed += 1
            metrics.WEBHOOK_ATTEMPTS.labels("failed").inc()
            delivery.next_attempt_at = now + backoff(settings, delivery.attempts)
            if delivery.next_attempt_at > delivery.give_up_at:
                _give_up(delivery, f"gave up after {delivery.attempts} attempts; last: {outcome.error}", report)
        failing = {o.endpoint_id for o in outcomes if o.attempted and not o.succeeded}
        healthy = {o.endpoint_id for o in outcomes if o.succeeded} - failing
        for endpoint in session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.id.in_(failing | healthy))
                                        .execution_options(populate_existing=True)):
            if endpoint.id in failing:
                endpoint.failures += 1
                endpoint.paused_until = now + backoff(settings, endpoint.failures)
            else:
                endpoint.failures = 0
                endpoint.paused_until = None


def give_up_expired(session: Session, now: datetime) -> int:
    """Fail the deliveries past their three days that wait on an endpoint that keeps failing."""
    failing = select(WebhookEndpoint.id).where(WebhookEndpoint.failures > 0)
    with write_transaction(session):
        expired = session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.give_up_at < now,
                   or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until <= now),
                   WebhookDelivery.endpoint_id.in_(failing))
            .values(status="failed", last_error="gave up: not delivered within 3 days; the endpoint kept failing")
            .execution_options(preserve_rowcount=True, synchronize_session=False)
        ).rowcount
    if expired:
        metrics.WEBHOOK_ATTEMPTS.labels("gave_up").inc(expired)
        log.warning("gave up %d webhook deliveries to failing endpoints after 3 days", expired)
    return expired


def _give_up(delivery: WebhookDelivery, reason: str, report: DeliveryReport) -> None:
    delivery.status = "failed"
    delivery.last_error = reason[:2000]
    report.gave_up += 1
    metrics.WEBHOOK_ATTEMPTS.labels("gave_up").inc()
    log.warning("webhook delivery %s to %s failed for good: %s", delivery.id, delivery.endpoint_id, reason)


@dataclass(frozen=True)
class Backlog:
    counts: dict[str, int]
    oldest_age_seconds: float


def backlog(session: Session, now: datetime) -> Backlog:
    """Undelivered deliveries: ``due`` (to send now) and ``waiting`` (in backoff, paused endpoint, or leased)."""
    paused = exists().where(WebhookEndpoint.id == WebhookDelivery.endpoint_id, WebhookEndpoint.paused_until > now)
    due = ((WebhookDelivery.next_attempt_at <= now) & ~paused
           & or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until <= now))
    row = session.execute(
        select(func.count(), func.count().filter(due), func.min(WebhookDelivery.created_at))
        .where(WebhookDelivery.status == "pending")
    ).one()
    total, due_count, oldest = row
    age = (now - oldest).total_seconds() if oldest else 0.0
    return Backlog({"due": due_count, "waiting": total - due_count}, max(age, 0.0))


def run_worker(session: Session, settings: DeliverySettings, stop: threading.Event,
               now: Callable[[], datetime], idle_seconds: float = 1.0) -> None:
    """Deliver continuously until ``stop`` is set; sleeps ``idle_seconds`` when nothing is due."""
    log.info("webhook worker started")
    while not stop.is_set():
        try:
            with metrics.job_timer("webhook_delivery"):
                report = deliver_due(session, now(), settings, max_rounds=1)
        except OperationalError as exc:
            session.rollback()
            log.warning("webhook worker: database unavailable (%s); retrying", exc.orig)
            stop.wait(max(idle_seconds, 5.0))
            continue
        if not report.claimed:
            stop.wait(idle_seconds)
    log.info("webhook worker stopped")
