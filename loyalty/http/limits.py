"""Rate limits per API key, per widget token and per address; the 429 answer; proxies.

Counters live in ``RATELIMIT_STORAGE_URI``: ``memory://`` (one process; fine
for one gunicorn worker or development) or ``redis://host:6379/0``, which
every app process and host shares, so a key gets its limit once, not once
per process. If Redis cannot be reached, requests are let through (and it is
logged): a limit is no reason to stop tills from selling.
"""

import hashlib
import math
import time

from flask import Flask, current_app, jsonify, request
from flask_limiter import RateLimitExceeded
from sqlalchemy.exc import OperationalError
from werkzeug.middleware.proxy_fix import ProxyFix

from loyalty.errors import LoyaltyError, RateLimited
from loyalty.extensions import db, limiter

#: Paths no limit applies to: probes, scrapes, the documentation, and Stripe's webhook
#: (its signature is checked first and cheaply; a 429 there would only delay points).
EXEMPT_PREFIXES = ("/healthz", "/metrics", "/docs", "/openapi.json", "/v1/webhooks/stripe")
#: A 503 means the database or the rules will be back within moments.
UNAVAILABLE_RETRY_AFTER = "1"


def init_app(app: Flask) -> None:
    proxies = int(app.config.get("PROXY_FIX_X_FOR") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.config.setdefault("RATELIMIT_APPLICATION", limit_for_caller)
    app.after_request(_retry_after)  # registered before the limiter's, so it runs after it
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _rate_limited)


def caller() -> tuple[str, str]:
    """(kind, identity) of the caller: ``key``/key name, ``widget``/token hash, or ``address``/IP."""
    from loyalty.http.auth import bearer_token, current_principal

    if bearer_token():
        try:
            principal = current_principal()
        except LoyaltyError:
            principal = None
        except OperationalError:
            # Flask-Limiter swallows errors: roll back, so the view meets the outage afresh and answers 503.
            db.session.rollback()
            principal = None
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


@limiter.request_filter
def _exempt() -> bool:
    return request.path.startswith(EXEMPT_PREFIXES)


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
