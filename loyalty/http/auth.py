"""Bearer credentials → ``g.principal``, and scope checks per view."""

import functools

from flask import current_app, g, request
from sqlalchemy import text

from loyalty import clock
from loyalty.errors import Forbidden, NotFound, Unauthorized
from loyalty.extensions import db
from loyalty.services import widget_tokens
from loyalty.services.api_keys import KEY_COLUMNS, Principal, hash_key, principal_for
from loyalty.services.rules import ACTIVE_VERSION_SQL

SCOPE_RANK = {"pos": 1, "admin": 2}

#: A request's first read: the caller's key and, in the same round trip, which rules
#: version is active (most views apply rules; ``context.rules`` then need not ask).
KEY_AND_ACTIVE_VERSION = text(
    f"SELECT {', '.join(f'k.{name}' for name in KEY_COLUMNS)}, r.version, r.content_hash"
    f" FROM api_keys k LEFT JOIN ({ACTIVE_VERSION_SQL}) r ON 1 = 1 WHERE k.key_hash = :digest"
)


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:
        token = bearer_token()
        if token and widget_tokens.is_widget_token(token):
            principal = widget_principal(token)
        else:
            principal = key_principal(token) if token else None
        if principal is None:
            raise Unauthorized("A valid API key is required: Authorization: Bearer <key>.")
        g.principal = principal
    return principal


def key_principal(secret: str) -> Principal | None:
    digest = hash_key(secret)
    row = db.session.execute(KEY_AND_ACTIVE_VERSION, {"digest": digest}).first()
    principal = principal_for(row, digest)
    if principal is not None and row.version is not None:
        g.active_version = (row.version, row.content_hash)
    return principal


def requires(scope: str):
    """The caller's key must have ``scope`` (admin may do everything pos may)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = current_principal()
            if principal.member_id is not None:
                refuse_widget_token(principal, kwargs)
            if SCOPE_RANK.get(principal.scope, 0) < SCOPE_RANK[scope]:
                raise Forbidden(f"This needs a key with scope {scope!r}.", {"required_scope": scope})
            return view(*args, **kwargs)

        return wrapper

    return decorate


def widget_principal(token: str) -> Principal:
    """A widget token's member as the caller: scope ``member``, good only on /v1/me."""
    try:
        verified = widget_tokens.verify(current_app.config["SECRET_KEY"], token, clock.now())
    except widget_tokens.TokenExpired:
        raise Unauthorized("The widget token has expired; please sign in again.",
                           {"reason": "token_expired"}) from None
    except widget_tokens.TokenRejected:
        raise Unauthorized("The widget token is not valid; please sign in again.",
                           {"reason": "token_invalid"}) from None
    return Principal(kind="widget", name=f"member:{verified.member_id}", scope="member",
                     member_id=verified.member_id)


def requires_member(view):
    """The caller must be a widget token; API keys speak for tills, not for one member."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_principal().member_id is None:
            raise Forbidden("This needs a widget token (POST /v1/members/{id}/widget-tokens).",
                            {"required_scope": "member"})
        return view(*args, **kwargs)

    return wrapper


def refuse_widget_token(principal: Principal, view_args: dict) -> None:
    """A widget token outside /v1/me: 404 when it names another member (the contract's
    "not_found, also for a widget token asking about another member"), else 403."""
    named = view_args.get("member_id") or request.args.get("member_id")
    if named is not None and named != principal.member_id:
        raise NotFound("No such member.")
    raise Forbidden("A widget token opens only /v1/me.", {"required_scope": "pos"})
