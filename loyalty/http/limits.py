"""Rate limits per API key, per widget token and per address; where they are counted; the 429 answer.

A limit means what it says only if every process that serves the API counts in the same place,
``RATELIMIT_STORAGE_URI``:

- unset (the default): a small SQLite file beside the database (or in the instance folder when the
  database is not a SQLite file), shared by all the workers of one host;
- ``redis://host:6379/0``: shared by every process on every host; needed when more than one host
  serves the API;
- ``memory://``: this process alone (tests; one process in development).

If the store cannot be reached, requests are let through (and it is logged): a limit is no reason to
stop tills from selling. The Limiter lives here, beside its key function, so ``extensions`` imports
nothing of the app.
"""

import hashlib
import math
import os
import sqlite3
import threading
import time
from pathlib import Path

from flask import Flask, current_app, jsonify, request
from flask_limiter import Limiter, RateLimitExceeded
from limits.storage import Storage
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from werkzeug.middleware.proxy_fix import ProxyFix

from loyalty.errors import LoyaltyError, RateLimited
from loyalty.extensions import db
from loyalty.http.auth import bearer_token, current_principal

#: Paths no limit applies to: probes, scrapes, the documentation, and Stripe's webhook
#: (its signature is checked first and cheaply; a 429 there would only delay points).
EXEMPT_PREFIXES = ("/healthz", "/metrics", "/docs", "/openapi.json", "/v1/webhooks/stripe")
#: A 503 means the database or the rules will be back within moments.
UNAVAILABLE_RETRY_AFTER = "1"
STORE_FILE = "ratelimits.db"


def init_app(app: Flask) -> None:
    proxies = int(app.config.get("PROXY_FIX_X_FOR") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.config["RATELIMIT_STORAGE_URI"] = app.config.get("RATELIMIT_STORAGE_URI") or default_storage_uri(app)
    app.config.setdefault("RATELIMIT_APPLICATION", limit_for_caller)
    app.after_request(_retry_after)  # registered before the limiter's, so it runs after it
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _rate_limited)


def default_storage_uri(app: Flask) -> str:
    """A SQLite file the workers of this host share: beside a SQLite database, else in the instance folder."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = Path(url.database).resolve()
        return f"sqlite:///{database.with_name(f'{database.stem}-{STORE_FILE}')}"
    return f"sqlite:///{Path(app.instance_path).resolve() / STORE_FILE}"


# --------------------------------------------------------------------------- who is calling


def caller() -> tuple[str, str]:
    """(kind, identity) of the caller: ``key``/key name, ``widget``/token hash, or ``address``/IP."""
    if bearer_token():
        try:
            principal = current_principal()
        except LoyaltyError:
            principal = None
        except OperationalError:
            # Flask-Limiter swallows errors: roll back, so the view meets the outage afresh and answers 503.
            # Counted against the credential's budget, not the address's: every till behind one
            # address would otherwise get 429s instead of the 503s that say retry in a second.
            db.session.rollback()
            return "key", f"unverified:{hashlib.sha256(bearer_token().encode()).hexdigest()[:32]}"
        if principal is not None and principal.kind == "widget":
            return "widget", hashlib.sha256(bearer_token().encode()).hexdigest()[:32]
        if principal is not None:
            return "key", principal.name
    return "address", request.remote_addr or "unknown"


def caller_key() -> str:
    kind, identity = caller()
    return f"{kind}:{identity}"


def limit_for_caller() -> str:
    kind, _ = caller()
    config = current_app.config
    return {
        "key": config.get("RATELIMIT_PER_KEY", "1200 per minute"),
        "widget": config.get("RATELIMIT_PER_WIDGET_TOKEN", "120 per minute"),
        "address": config.get("RATELIMIT_PER_ADDRESS", "300 per minute"),
    }[kind]


#: One budget per caller for every route (``RATELIMIT_APPLICATION``); set up by ``init_app``.
limiter = Limiter(key_func=caller_key)


@limiter.request_filter
def _exempt() -> bool:
    return request.path.startswith(EXEMPT_PREFIXES)


# --------------------------------------------------------------------------- the 429 answer


def _seconds_to_reset() -> int:
    current = limiter.current_limit
    if current is None:
        return 1
    return max(1, math.ceil(current.window[0] - time.time()))


def _rate_limited(error: RateLimitExceeded):
    body = RateLimited(f"Too many requests: the limit is {error.description}. Retry later.",
                       {"limit": str(error.description)}).body()
    return jsonify(body), 429, {"Retry-After": str(_seconds_to_reset())}


def _retry_after(response):
    """Retry-After on 429 (never 0: Flask-Limiter adds its window to every answer, rounded down)
    and on 503, where the database or the rules are back within moments: 1 second."""
    if response.status_code == 429:
        response.headers["Retry-After"] = str(_seconds_to_reset())
    elif response.status_code == 503:
        response.headers["Retry-After"] = UNAVAILABLE_RETRY_AFTER
    else:
        response.headers.pop("Retry-After", None)
    return response


# --------------------------------------------------------------------------- the shared count

_SCHEMA = ("CREATE TABLE IF NOT EXISTS windows (key TEXT PRIMARY KEY, hits INTEGER NOT NULL,"
           " expires_at REAL NOT NULL) WITHOUT ROWID")
#: A window that is over starts again at this hit; one statement, so two workers cannot both start it.
_HIT = """INSERT INTO windows (key, hits, expires_at) VALUES (:key, :amount, :now + :expiry)
ON CONFLICT (key) DO UPDATE SET
  hits = CASE WHEN expires_at <= :now THEN excluded.hits ELSE hits + excluded.hits END,
  expires_at = CASE WHEN expires_at <= :now THEN excluded.expires_at ELSE expires_at END
RETURNING hits"""


class SqliteStorage(Storage):
    """Fixed-window counts in a SQLite file (``sqlite:///path``) that every worker of a host opens.

    One UPSERT per hit, in WAL mode (readers never wait for it), without fsync on commit: a count
    lost to a power cut lets a few requests more through, nothing else. Fixed windows only.
    """

    STORAGE_SCHEME = ["sqlite"]
    BUSY_TIMEOUT_SECONDS = 5.0
    PURGE_EVERY = 1000  # hits of one process between deletions of windows that are over

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = Path(uri.removeprefix("sqlite:///"))
        self._local = threading.local()
        self._hits_since_purge = 0

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        """One connection per thread and process, opened on first use (never across a fork)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=self.BUSY_TIMEOUT_SECONDS, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(_SCHEMA)
            local.connection, local.pid = connection, os.getpid()
        return local.connection

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        [(hits,)] = self._connection().execute(
            _HIT, {"key": key, "amount": amount, "now": now, "expiry": expiry}).fetchall()
        self._hits_since_purge += 1
        if self._hits_since_purge >= self.PURGE_EVERY:
            self._hits_since_purge = 0
            self._connection().execute("DELETE FROM windows WHERE expires_at <= ?", (now,))
        return hits

    def _window(self, key: str) -> tuple[int, float] | None:
        return self._connection().execute(
            "SELECT hits, expires_at FROM windows WHERE key = ? AND expires_at > ?", (key, time.time())).fetchone()

    def get(self, key: str) -> int:
        window = self._window(key)
        return window[0] if window else 0

    def get_expiry(self, key: str) -> float:
        window = self._window(key)
        return window[1] if window else time.time()

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1").fetchall()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._connection().execute("DELETE FROM windows").rowcount

    def clear(self, key: str) -> None:
        self._connection().execute("DELETE FROM windows WHERE key = ?", (key,))
