"""Bearer credentials → ``g.principal``, and scope checks per view."""

import functools

from flask import g, request

from loyalty.api_keys import Principal, authenticate
from loyalty.errors import Forbidden, Unauthorized
from loyalty.extensions import db

SCOPE_RANK = {"pos": 1, "admin": 2}


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
        principal = authenticate(db.session, token) if token else None
        if principal is None:
            raise Unauthorized("A valid API key is required: Authorization: Bearer <key>.")
        g.principal = principal
    return principal


def requires(scope: str):
    """The caller's key must have ``scope`` (admin may do everything pos may)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = current_principal()
            if SCOPE_RANK.get(principal.scope, 0) < SCOPE_RANK[scope]:
                raise Forbidden(f"This needs a key with scope {scope!r}.", {"required_scope": scope})
            return view(*args, **kwargs)

        return wrapper

    return decorate
