"""The outbox: what happened, written with each change, and its delivery to merchants' webhooks."""

from loyalty.outbox.events import (
    ENDPOINT_COLUMNS,
    EVENT_TYPES,
    LIVE_ENDPOINTS,
    LIVE_ENDPOINTS_SQL,
    RETRY_FOR,
    emit,
    jsonable,
    member_data,
    payload,
    subscribed_endpoints,
)

__all__ = ["ENDPOINT_COLUMNS", "EVENT_TYPES", "LIVE_ENDPOINTS", "LIVE_ENDPOINTS_SQL", "RETRY_FOR", "emit",
           "jsonable", "member_data", "payload", "subscribed_endpoints"]
