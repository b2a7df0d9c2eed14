"""Settings per environment. Every value can be overridden from the environment.

Plain names (``DATABASE_URL``, ``SECRET_KEY``, …) are read as they are; any
other Flask setting can be given as ``LOYALTY_<NAME>``.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def _env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value in (None, "") else value.lower() not in ("0", "false", "no", "off")


class Config:
    ENV_NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{ROOT / 'instance' / 'loyalty.db'}"
    )
    #: A pooled PostgreSQL connection idle this long (seconds) is pinged before use, and replaced if
    #: the database dropped it (restart, failover) instead of failing a request; a busy pool is not
    #: pinged (``transactions._ping_idle_connections``). None turns the ping off. Connections also
    #: give up after a few seconds (503, not a hang): ``transactions.configure_engine`` sets
    #: psycopg's ``connect_timeout`` unless the URL does.
    DATABASE_PING_IDLE_SECONDS = _env_float("DATABASE_PING_IDLE_SECONDS", 0.25)
    #: The largest request body in bytes (413 payload_too_large beyond, naming it); paths that take
    #: many records at once (``…/batch``: up to 1,000 events) have their own.
    #: DATABASE_URL reaches PostgreSQL through a pooler in transaction mode (PgBouncer's
    #: ``pool_mode = transaction``): the next statement may run on a server connection another client
    #: used, so psycopg prepares no statements on the server (``prepare_threshold=None``).
    DATABASE_TRANSACTION_POOLER = _env_flag("DATABASE_TRANSACTION_POOLER")
    #: A streaming replica for reads that may be a moment behind: reports, backtests, exports and
    #: member search (never a till's request). Read only while it streams and is no more than
    #: REPLICA_MAX_LAG_SECONDS behind, checked at most every REPLICA_CHECK_SECONDS; else the primary.
    DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL") or None
    REPLICA_MAX_LAG_SECONDS = _env_float("REPLICA_MAX_LAG_SECONDS", 5.0)
    REPLICA_CHECK_SECONDS = _env_float("REPLICA_CHECK_SECONDS", 1.0)
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 256 * 1024)
    #: ``POST /v1/events/batch`` and other ``…/batch`` paths: room for 1,000 events (about 4 KB each, with room).
    BATCH_MAX_CONTENT_LENGTH = _env_int("BATCH_MAX_CONTENT_LENGTH", 8 * 1024 * 1024)
    #: How long a keyed request's answer is replayed (the contract's minimum is 24 hours; a till
    #: that replays a backlog later than this is still kept from double-awarding by ``source_id``).
    IDEMPOTENCY_KEY_RETENTION_HOURS = _env_int("IDEMPOTENCY_KEY_RETENTION_HOURS", 72)
    #: How long limit and cap counts of a period that is over, and qualifying points of a day out of
    #: every tier window, are kept before `jobs run` deletes them (at least 90: events may be dated
    #: that far back, and count in their own day's caps).
    COUNTER_RETENTION_DAYS = _env_int("COUNTER_RETENTION_DAYS", 100)
    #: `jobs run` sends ``points.expiring`` once per lot this many days before it expires, and
    #: ``tier.expiring`` once per tier hold this many days before the hold ends.
    POINTS_EXPIRING_NOTICE_DAYS = _env_int("POINTS_EXPIRING_NOTICE_DAYS", 14)
    TIER_EXPIRING_NOTICE_DAYS = _env_int("TIER_EXPIRING_NOTICE_DAYS", 30)

    API_TITLE = "Loyalty"
    API_VERSION = "1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    OPENAPI_SWAGGER_UI_URL = "/docs/assets/"  # served from the swagger-ui-bundle package, no CDN

    #: Stripe is optional: without an API key rewards are issued as plain codes.
    STRIPE_API_KEY = os.environ.get("STRIPE_API_KEY") or None
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET") or None
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE") or "https://api.stripe.com"
    STRIPE_TIMEOUT_SECONDS = _env_float("STRIPE_TIMEOUT_SECONDS", 10.0)
    #: ``jobs run`` deactivates active promotion codes of ours whose redemption does not exist, made
    #: between LOOKBACK hours and GRACE seconds ago (a redemption younger may still be committing).
    STRIPE_SWEEP_GRACE_SECONDS = _env_int("STRIPE_SWEEP_GRACE_SECONDS", 300)
    STRIPE_SWEEP_LOOKBACK_HOURS = _env_int("STRIPE_SWEEP_LOOKBACK_HOURS", 48)

    #: Customer widget: token lifetime, the longest a till may ask for, the merchant
    #: sites allowed to call /v1/me/* from a browser (comma-separated origins), /demo.
    WIDGET_TOKEN_TTL_SECONDS = _env_int("WIDGET_TOKEN_TTL_SECONDS", 3600)
    WIDGET_TOKEN_MAX_TTL_SECONDS = _env_int("WIDGET_TOKEN_MAX_TTL_SECONDS", 86400)
    WIDGET_ALLOWED_ORIGINS = os.environ.get("WIDGET_ALLOWED_ORIGINS", "")
    WIDGET_DEMO = False

    #: /admin asks a second time before an adjustment of more points than this (either way).
    ADJUSTMENT_CONFIRM_ABOVE = _env_int("ADJUSTMENT_CONFIRM_ABOVE", 1000)

    #: Operations. Rate limits per API key, per widget token and per address (unauthenticated),
    #: counted where every worker counts: RATELIMIT_STORAGE_URI unset is a SQLite file beside the
    #: database that the workers of one host share; redis://host:6379/0 is shared by every host
    #: (set it when several hosts serve the API); memory:// counts in each process alone.
    RATELIMIT_ENABLED = os.environ.get("RATELIMIT_ENABLED", "true").lower() not in ("0", "false", "no")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or None
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX") or "loyalty"
    RATELIMIT_STRATEGY = os.environ.get("RATELIMIT_STRATEGY") or "fixed-window"
    RATELIMIT_PER_KEY = os.environ.get("RATELIMIT_PER_KEY") or "12000 per minute"
    RATELIMIT_PER_WIDGET_TOKEN = os.environ.get("RATELIMIT_PER_WIDGET_TOKEN") or "120 per minute"
    RATELIMIT_PER_ADDRESS = os.environ.get("RATELIMIT_PER_ADDRESS") or "300 per minute"
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True  # Redis down: let requests through rather than fail them
    PROXY_FIX_X_FOR = _env_int("PROXY_FIX_X_FOR", 0)  # proxies in front that set X-Forwarded-For
    HSTS_SECONDS = _env_int("HSTS_SECONDS", 0)
    LOG_FORMAT = os.environ.get("LOG_FORMAT") or "json"
    LOG_LEVEL = os.environ.get("LOG_LEVEL") or "INFO"
    LOG_REQUESTS = True
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None
    PRIVACY_SCOPE = os.environ.get("PRIVACY_SCOPE") or "pos"  # scope that may erase and export members
    WEBHOOK_TIMEOUT_SECONDS = _env_float("WEBHOOK_TIMEOUT_SECONDS", 5.0)
    WEBHOOK_RETRY_BASE_SECONDS = _env_float("WEBHOOK_RETRY_BASE_SECONDS", 30.0)
    WEBHOOK_RETRY_MAX_DELAY_SECONDS = _env_float("WEBHOOK_RETRY_MAX_DELAY_SECONDS", 3600.0)
    WEBHOOK_BATCH_SIZE = _env_int("WEBHOOK_BATCH_SIZE", 100)
    WEBHOOK_CONCURRENCY = _env_int("WEBHOOK_CONCURRENCY", 8)
    WEBHOOK_SECRET_GRACE_SECONDS = _env_int("WEBHOOK_SECRET_GRACE_SECONDS", 86400)
    WEBHOOK_WORKER_IDLE_SECONDS = _env_float("WEBHOOK_WORKER_IDLE_SECONDS", 1.0)


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SECRET_KEY = Config.SECRET_KEY or "development-only-secret-key-change-me"
    WIDGET_DEMO = True


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key"
    SQLALCHEMY_DATABASE_URI = os.environ.get("LOYALTY_TEST_DATABASE_URL", "sqlite://")
    STRIPE_API_KEY = None  # tests never reach the real Stripe; they set a fake server's address
    STRIPE_WEBHOOK_SECRET = None
    RATELIMIT_STORAGE_URI = "memory://"  # tests that need Redis say so
    RATELIMIT_PER_KEY = RATELIMIT_PER_WIDGET_TOKEN = RATELIMIT_PER_ADDRESS = "100000 per minute"


class ProductionConfig(Config):
    ENV_NAME = "production"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None = None) -> type[Config]:
    name = name or os.environ.get("LOYALTY_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"LOYALTY_ENV must be one of {sorted(CONFIGS)}, not {name!r}") from None
