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

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from sqlalchemy import exists, func, or_, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, aliased

from loyalty import outbox
from loyalty.db.transactions import write_transaction
from loyalty.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from loyalty.observability import metrics

log = logging.getLogger("loyalty.webhooks")

CLAIM_LOCK_KEY = 7_340_112_001  # pg_advisory_xact_lock key: "claiming webhook deliveries"
USER_AGENT = "loyalty-webhooks/1"
ERROR_EXCERPT = 500


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


@dataclass(frozen=True)
class Outgoing:
    """A claimed delivery with everything needed to send it, detached from the session."""

    seq: int
    endpoint_id: str
    url: str
    body: bytes
    headers: dict


@dataclass(frozen=True)
class Outcome:
    seq: int
    endpoint_id: str
    attempted: bool
    status_code: int | None = None
    error: str | None = None
    duration_ms: int = 0

    @property
    def succeeded(self) -> bool:
        return self.attempted and self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class DeliveryReport:
    rounds: int = 0
    claimed: int = 0
    succeeded: int = 0
    failed: int = 0
    gave_up: int = 0
    deferred: int = 0
    outcomes: list[Outcome] = field(default_factory=list)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>.<body>"``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(endpoint: WebhookEndpoint, timestamp: int, body: bytes, now: datetime) -> str:
    """``t=<unix>,v1=<hex>``; during a secret rotation's grace period a second ``v1`` signs with the old one."""
    parts = [f"t={timestamp}", f"v1={sign(endpoint.secret, timestamp, body)}"]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        parts.append(f"v1={sign(endpoint.previous_secret, timestamp, body)}")
    return ",".join(parts)


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
        outcomes = send_all(claimed, now, settings, post)
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


def send_all(claimed: list[Outgoing], now: datetime, settings: DeliverySettings,
             post: Callable | None = None) -> list[Outcome]:
    """Send each endpoint's deliveries in order on a thread of its own; stop an endpoint at its first failure."""
    by_endpoint: dict[str, list[Outgoing]] = {}
    for item in claimed:
        by_endpoint.setdefault(item.endpoint_id, []).append(item)
    workers = max(1, min(settings.concurrency, len(by_endpoint)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook") as pool:
        groups = pool.map(lambda items: _send_endpoint(items, now, settings, post), by_endpoint.values())
        return [outcome for group in groups for outcome in group]


def _send_endpoint(items: list[Outgoing], now: datetime, settings: DeliverySettings,
                   post: Callable | None) -> list[Outcome]:
    outcomes: list[Outcome] = []
    with requests.Session() as http:
        send = post or http.post
        for index, item in enumerate(items):
            outcome = _send_one(send, item, settings)
            outcomes.append(outcome)
            if not outcome.succeeded:
                outcomes.extend(Outcome(seq=rest.seq, endpoint_id=rest.endpoint_id, attempted=False)
                                for rest in items[index + 1:])
                break
    return outcomes


def _send_one(send: Callable, item: Outgoing, settings: DeliverySettings) -> Outcome:
    started = time.perf_counter()
    try:
        response = send(item.url, data=item.body, headers=item.headers, stream=True, allow_redirects=False,
                        timeout=(min(settings.timeout, 3.0), settings.timeout))
        try:
            excerpt = response.raw.read(ERROR_EXCERPT, decode_content=True) if response.raw else b""
        except Exception:  # noqa: BLE001 - a broken body does not change the status we got
            excerpt = b""
        finally:
            response.close()
        status, error = response.status_code, None
        if not 200 <= status < 300:
            error = f"HTTP {status}: {excerpt.decode('utf-8', 'replace')}".strip()
    except requests.Timeout:
        status, error = None, f"timed out after {settings.timeout:g} s"
    except requests.RequestException as exc:
        status, error = None, f"{type(exc).__name__}: {exc}"[:ERROR_EXCERPT]
    duration_ms = round((time.perf_counter() - started) * 1000)
    return Outcome(seq=item.seq, endpoint_id=item.endpoint_id, attempted=True, status_code=status, error=error,
                   duration_ms=duration_ms)


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
