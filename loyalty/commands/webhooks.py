"""Webhook delivery as a ``jobs run`` step, and ``flask --app app jobs worker`` for continuous delivery."""

import dataclasses
import signal
import threading
from datetime import datetime

import click
from flask import current_app
from sqlalchemy.orm import Session

from loyalty import clock
from loyalty.extensions import db
from loyalty.observability import metrics
from loyalty.outbox.delivery import DeliverySettings, deliver_due, run_worker
from loyalty.services.sweep import SweepResult


def deliver_webhooks(session: Session, now: datetime, *, batch_size: int | None = None) -> SweepResult:
    """Send every delivery due at ``now`` (retries included); counts the ones delivered."""
    settings = DeliverySettings.from_config(current_app.config)
    if batch_size:
        settings = dataclasses.replace(settings, batch_size=batch_size)
    with metrics.job_timer("deliver-webhooks"):
        report = deliver_due(session, now, settings)
    return SweepResult(done=report.succeeded, batches=report.rounds)


@click.command("worker")
@click.option("--idle", "idle_seconds", type=float, default=None,
              help="Seconds to wait when nothing is due (default WEBHOOK_WORKER_IDLE_SECONDS, 1).")
def worker(idle_seconds):
    """Deliver webhooks continuously until SIGTERM or Ctrl-C (run one or more beside the app)."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    settings = DeliverySettings.from_config(current_app.config)
    idle = idle_seconds if idle_seconds is not None else current_app.config.get("WEBHOOK_WORKER_IDLE_SECONDS", 1.0)
    click.echo(f"Delivering webhooks (timeout {settings.timeout:g} s, idle {idle:g} s); stop with Ctrl-C.",
               err=True)
    run_worker(db.session, settings, stop, clock.now, idle_seconds=idle)
