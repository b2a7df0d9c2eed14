"""What a request body must be before a view reads it: JSON that says so, within the size limit.

The limit is ``MAX_CONTENT_LENGTH`` bytes; paths that take many records at once (``…/batch``)
have their own, ``BATCH_MAX_CONTENT_LENGTH``. A body sent in chunks (no Content-Length) is read
here, so one that reaches the limit is a 413 before any parser sees a truncated document.
"""

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from loyalty.errors import LoyaltyError, PayloadTooLarge

BODY_METHODS = {"POST", "PUT", "PATCH"}
#: Stripe's webhook is checked on its signed raw body, whatever it says it is.
RAW_BODY_PATHS = ("/v1/webhooks/stripe",)
BATCH_SUFFIX = "/batch"


class UnsupportedMediaType(LoyaltyError):
    status, code = 415, "bad_request"


def init_app(app: Flask) -> None:
    app.before_request(_check_body)
    app.register_error_handler(RequestEntityTooLarge, _too_large)


def body_limit() -> int | None:
    """The largest body, in bytes, this request may carry."""
    config = current_app.config
    if request.path.endswith(BATCH_SUFFIX):
        return config.get("BATCH_MAX_CONTENT_LENGTH") or config.get("MAX_CONTENT_LENGTH")
    return config.get("MAX_CONTENT_LENGTH")


def _check_body():
    if request.method not in BODY_METHODS or not request.path.startswith("/v1/"):
        return
    request.max_content_length = body_limit()
    chunked = request.content_length is None and request.environ.get("wsgi.input_terminated")
    if not (request.content_length or chunked) or request.path.startswith(RAW_BODY_PATHS):
        return
    if not request.is_json:
        sent = request.mimetype or "no Content-Type"
        raise UnsupportedMediaType(
            f"The body must be JSON sent with Content-Type: application/json, not {sent}.",
            {"content_type": sent, "allowed": ["application/json"]})
    if chunked and len(request.get_data(cache=True)) >= (request.max_content_length or float("inf")):
        # Werkzeug's limited stream stops at the limit without a word; a body that reaches it is
        # cut, and is refused here rather than parsed as broken JSON.
        raise RequestEntityTooLarge()


def _too_large(_error: RequestEntityTooLarge):
    limit = request.max_content_length
    error = PayloadTooLarge(f"The request body is larger than the limit of {limit:,} bytes.",
                            {"limit_bytes": limit})
    return jsonify(error.body()), error.status
