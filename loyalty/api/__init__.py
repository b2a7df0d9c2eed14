"""The HTTP API: flask-smorest blueprints whose schemas are the OpenAPI document."""

from flask_smorest import Api, Blueprint
from webargs.flaskparser import FlaskParser

from loyalty.api.schemas import ErrorSchema
from loyalty.errors import error_body

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "invalid_state",
    413: "payload_too_large",
    415: "bad_request",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


def _field_errors(messages) -> dict:
    """webargs groups messages by location (json, query…); the contract wants field → list."""
    fields: dict = {}
    for location_messages in (messages or {}).values():
        if isinstance(location_messages, dict):
            fields.update(location_messages)
        else:
            fields.setdefault("_schema", []).extend(location_messages)
    return fields


class LoyaltyApi(Api):
    """flask-smorest's Api, answering errors in the contract's shape."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        data = getattr(error, "data", None) or {}
        status = error.code or 500
        code = STATUS_CODES.get(status, "internal_error" if status >= 500 else "bad_request")
        headers = dict(data.get("headers") or {})
        if getattr(error, "valid_methods", None):
            headers["Allow"] = ", ".join(error.valid_methods)
        if status == 422 and "messages" in data:
            body = error_body(code, "The request has invalid fields.",
                              {"fields": _field_errors(data["messages"])})
        elif status == 400 and "messages" in data:
            body = error_body(code, "The request body is not valid JSON.")
        else:
            message = data.get("message") or error.description or error.name
            if status >= 500:
                message = "Something went wrong on our side; nothing was changed."
            body = error_body(code, message)
        return body, status, headers


api = LoyaltyApi()

# webargs ignores unknown query parameters by default; with unknown=None each
# schema's own Meta decides, and ours refuse them, so `?limt=5` is a 422, not a silent default.
Blueprint.ARGUMENTS_PARSER = FlaskParser(unknown=None)


#: One line per resource module, each exposing ``blp``; registered in this order.
BLUEPRINT_MODULES = [
    "loyalty.api.members",
    "loyalty.api.identity",
    "loyalty.api.events",
    "loyalty.api.event_batches",
    "loyalty.api.ledger",
    "loyalty.api.rules",
    "loyalty.api.rewards",
    "loyalty.api.stripe",
    "loyalty.api.health",
    "loyalty.api.widget_tokens",
    "loyalty.api.me",
    "loyalty.widget",
    "loyalty.api.reports",
    "loyalty.api.webhooks",
    "loyalty.api.privacy",
    "loyalty.api.audit",
    "loyalty.api.metrics",
]


def _items_from_metadata(converter, field, ret, **kwargs) -> dict:
    """A list parsed item by item (a batch's events) names its items' schema in ``metadata["items"]``."""
    items = field.metadata.get("items")
    return {"items": items} if items is not None else {}


def register(app) -> None:
    from importlib import import_module

    from loyalty.api import health

    app.config.setdefault("API_SPEC_OPTIONS", {
        "components": {"securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer",
                           "description": "An API key (scope pos or admin) or a widget token."},
        }},
        "security": [{"bearerAuth": []}],
        "info": {"description": "Loyalty points and rewards. Contract version 1."},
    })
    api.init_app(app)
    api.ma_plugin.converter.add_attribute_function(_items_from_metadata)
    for name in BLUEPRINT_MODULES:
        api.register_blueprint(import_module(name).blp)
    app.register_blueprint(health.assets)
