"""Request ids, one JSON log line per request, request metrics, security headers.

Every response carries ``X-Request-Id``: the caller's, when it is a sane
token (1–128 of ``A-Z a-z 0-9 . _ : -``), else a fresh one. Log lines name
the principal (the API key's name, or ``member:…`` for a widget token), never
a key or token, and the path without its query string (which may hold an
email address).
"""

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from loyalty import ledger
from loyalty.observability import metrics

REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

request_log = logging.getLogger("loyalty.request")


def init_app(app: Flask) -> None:
    configure_logging(app)
    app.before_request(_start_request)
    app.after_request(_finish_request)
    _count_committed_entries()


# --------------------------------------------------------------------------- logs


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and any ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context() and "request_id" not in record.__dict__:
            entry["request_id"] = g.get("request_id")
        entry.update({k: v for k, v in record.__dict__.items() if k not in _RECORD_FIELDS})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is now (test runners swap it)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def configure_logging(app: Flask) -> None:
    """The ``loyalty`` loggers (``app.logger`` is one) write to stderr, as JSON unless LOG_FORMAT=text."""
    from flask.logging import default_handler

    logger = logging.getLogger("loyalty")
    handler = next((h for h in logger.handlers if isinstance(h, _StderrHandler)), None)
    if handler is None:
        handler = _StderrHandler()
        logger.addHandler(handler)
    if app.config.get("LOG_FORMAT", "json") == "text":
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(JsonFormatter())
    logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    logger.propagate = False
    app.logger.removeHandler(default_handler)
    # logging.config.fileConfig (Alembic's env.py runs it) disables every logger that exists already.
    for name, child in logging.root.manager.loggerDict.items():
        if (name == "loyalty" or name.startswith("loyalty.")) and isinstance(child, logging.Logger):
            child.disabled = False


# --------------------------------------------------------------------------- requests


def _start_request() -> None:
    g.request_started = time.perf_counter()
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex


def _finish_request(response):
    from flask import current_app

    request_id = g.get("request_id") or uuid.uuid4().hex
    response.headers[REQUEST_ID_HEADER] = request_id
    _security_headers(response, current_app.config)
    duration = time.perf_counter() - g.get("request_started", time.perf_counter())
    endpoint = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
    metrics.HTTP_REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
    metrics.HTTP_LATENCY.labels(request.method, endpoint).observe(duration)
    if current_app.config.get("LOG_REQUESTS", True):
        principal = g.get("principal")
        request_log.info("request", extra={
            "request_id": request_id, "method": request.method, "path": request.path, "endpoint": endpoint,
            "status": response.status_code, "duration_ms": round(duration * 1000, 1),
            "principal": principal.name if principal is not None else None, "remote_addr": request.remote_addr,
        })
    return response


def _security_headers(response, config) -> None:
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    if request.path.startswith("/v1/"):
        headers.setdefault("Cache-Control", "no-store")
        if response.mimetype == "application/json":
            headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
    hsts = int(config.get("HSTS_SECONDS") or 0)
    if hsts > 0:
        headers.setdefault("Strict-Transport-Security", f"max-age={hsts}; includeSubDomains")


# --------------------------------------------------------------------------- points


def _count_committed_entries() -> None:
    """Points counters move when a transaction that wrote ledger entries commits, never before."""
    if event.contains(Session, "after_flush", _collect_entries):
        return
    event.listen(Session, "after_flush", _collect_entries)
    event.listen(Session, "after_commit", _publish_entries)
    event.listen(Session, "after_rollback", _forget_entries)


def _collect_entries(session: Session, _context) -> None:
    """Entries added through the unit of work; ``ledger`` notes the ones it writes with Core itself."""
    from loyalty.models import LedgerEntry

    for obj in session.new:
        if isinstance(obj, LedgerEntry):
            session.info.setdefault(ledger.WRITTEN_ENTRIES, []).append((obj.type, obj.points))


def _publish_entries(session: Session) -> None:
    entries = session.info.pop(ledger.WRITTEN_ENTRIES, None)
    if entries:
        metrics.count_entries(entries)


def _forget_entries(session: Session) -> None:
    session.info.pop(ledger.WRITTEN_ENTRIES, None)
