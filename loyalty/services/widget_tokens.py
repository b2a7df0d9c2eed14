"""Widget tokens: a signed, expiring pass to one member's own account.

A token is ``lwt_`` + an itsdangerous signature (HMAC-SHA256 keyed by SECRET_KEY,
with a salt of its own so no other data the service signs can pass for a
token) of ``{"m": member_id, "exp": unix seconds}``. Nothing is stored:
a token is valid until it expires, or until its member is erased.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

PREFIX = "lwt_"
SALT = "loyalty.widget-token.v1"


class TokenRejected(Exception):
    """Tampered, malformed or signed with another key."""


class TokenExpired(TokenRejected):
    pass


@dataclass(frozen=True)
class WidgetToken:
    token: str
    member_id: str
    expires_at: datetime


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})


def is_widget_token(token: str) -> bool:
    return token.startswith(PREFIX)


def issue(secret: str, member_id: str, now: datetime, ttl: timedelta) -> WidgetToken:
    expires_at = (now + ttl).replace(microsecond=0)
    payload = {"m": member_id, "exp": int(expires_at.timestamp())}
    return WidgetToken(PREFIX + _serializer(secret).dumps(payload), member_id, expires_at)


def verify(secret: str, token: str, now: datetime) -> WidgetToken:
    """The token's member and expiry; raises TokenExpired or TokenRejected."""
    if not is_widget_token(token):
        raise TokenRejected("not a widget token")
    try:
        payload = _serializer(secret).loads(token.removeprefix(PREFIX))
    except BadSignature:
        raise TokenRejected("bad signature") from None
    if (not isinstance(payload, dict) or not isinstance(payload.get("m"), str)
            or type(payload.get("exp")) is not int):
        raise TokenRejected("malformed payload")
    expires_at = datetime.fromtimestamp(payload["exp"], UTC)
    if now >= expires_at:
        raise TokenExpired("expired")
    return WidgetToken(token, payload["m"], expires_at)
