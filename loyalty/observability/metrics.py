"""Prometheus metrics: defined once per process, written by the web layer, the ledger and the jobs.

Under gunicorn (``deploy/gunicorn.conf.py``, which ``make run`` uses) every
worker writes its counts into the folder ``PROMETHEUS_MULTIPROC_DIR`` names,
made and emptied when the server starts, and ``/metrics`` adds them up, so any
worker answers a scrape with the same totals. Without that variable (tests,
``flask run``) the counts are this process's. There are counters and
histograms only, which add up across processes; the gauges describe the
database (the webhook backlog) and are read from it at each scrape, so they
need no ``multiprocess_mode``: a ``Gauge`` added here would.
"""

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

HTTP_REQUESTS = Counter(
    "loyalty_http_requests_total", "HTTP requests answered, by route (the URL rule) and status.",
    ["method", "endpoint", "status"],
)
HTTP_LATENCY = Histogram(
    "loyalty_http_request_duration_seconds", "Time to answer an HTTP request, by route.",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
POINTS_ISSUED = Counter("loyalty_points_issued_total", "Points earned by members (earn entries).")
POINTS_REDEEMED = Counter("loyalty_points_redeemed_total", "Points spent on rewards (redeem entries).")
POINTS_EXPIRED = Counter("loyalty_points_expired_total", "Points that expired (expire entries).")
POINTS_REVERSED = Counter("loyalty_points_reversed_total", "Points taken back by refunds (reverse entries).")
POINTS_RETURNED = Counter("loyalty_points_returned_total", "Points given back by voided redemptions.")
POINTS_ADJUSTED = Counter("loyalty_points_adjusted_total", "Points moved by operators and imports, by direction.",
                          ["direction"])
JOB_DURATION = Histogram(
    "loyalty_job_duration_seconds", "How long a scheduled job step took.", ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0),
)
JOB_RUNS = Counter("loyalty_job_runs_total", "Job steps run, by outcome (ok or error).", ["job", "outcome"])
WEBHOOK_ATTEMPTS = Counter(
    "loyalty_webhook_attempts_total", "Webhook requests sent, by outcome (succeeded, failed, gave_up).",
    ["outcome"],
)


@contextmanager
def job_timer(job: str) -> Iterator[None]:
    """Time one job step: ``with metrics.job_timer("expire_points"): ...``."""
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    finally:
        JOB_DURATION.labels(job).observe(time.perf_counter() - started)
        JOB_RUNS.labels(job, outcome).inc()


def count_entries(entries: list[tuple[str, int]]) -> None:
    """Count committed ledger entries given as (type, points)."""
    for entry_type, points in entries:
        if entry_type == "earn":
            POINTS_ISSUED.inc(points)
        elif entry_type == "redeem":
            POINTS_REDEEMED.inc(-points)
        elif entry_type == "expire":
            POINTS_EXPIRED.inc(-points)
        elif entry_type == "reverse":
            POINTS_REVERSED.inc(-points)
        elif entry_type == "void":
            POINTS_RETURNED.inc(points)
        elif entry_type == "adjust":
            POINTS_ADJUSTED.labels("up" if points > 0 else "down").inc(abs(points))


class BacklogCollector:
    """The webhook backlog, read from the database at scrape time (every process sees the same)."""

    def __init__(self, read_backlog):
        self.read_backlog = read_backlog

    def collect(self):
        backlog = self.read_backlog()
        if backlog is None:
            return
        pending = GaugeMetricFamily("loyalty_webhook_backlog", "Webhook deliveries not yet delivered, by state.",
                                    labels=["state"])
        for state, count in backlog.counts.items():
            pending.add_metric([state], count)
        yield pending
        yield GaugeMetricFamily("loyalty_webhook_oldest_pending_age_seconds",
                                "Age of the oldest undelivered webhook event (0 when none).",
                                value=backlog.oldest_age_seconds)


def exposition(read_backlog) -> bytes:
    """The text /metrics answers: this process's (or all processes') metrics plus the database gauges."""
    if MULTIPROCESS:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY as registry
    database = CollectorRegistry(auto_describe=False)
    database.register(BacklogCollector(read_backlog))
    return generate_latest(registry) + generate_latest(database)
