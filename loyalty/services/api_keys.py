"""API keys: created once, shown once, stored as a SHA-256 hash, revocable."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from loyalty.errors import NotFound, ValidationFailed
from loyalty.models import ApiKey
from loyalty.models.api_key import SCOPES
from loyalty.services import audit

KEY_PREFIX = "lk"
#: Every API request runs it: built once.
#: What ``principal_for`` reads of a key row.
KEY_COLUMNS = ("name", "scope", "key_hash", "revoked_at")
KEY_BY_HASH = text(f"SELECT {', '.join(KEY_COLUMNS)} FROM api_keys WHERE key_hash = :digest")


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key (scope pos/admin) or a widget token (one member)."""

    kind: str
    name: str
    scope: str
    member_id: str | None = None

    @property
    def idempotency_scope(self) -> str:
        return f"{self.kind}:{self.name}"


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(session: Session, name: str, scope: str, now: datetime, actor: str | None = None) -> tuple[ApiKey, str]:
    if scope not in SCOPES:
        raise ValidationFailed({"scope": [f"must be one of {', '.join(SCOPES)}"]})
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)):
        raise ValidationFailed({"name": [f"a key named {name!r} already exists"]})
    prefix = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(name=name, scope=scope, prefix=prefix, key_hash=hash_key(secret), created_at=now)
    session.add(key)
    audit.record(session, actor, "key_created", name, now, None, {"scope": scope, "prefix": f"lk_{prefix}_…"})
    return key, secret


def revoke_key(session: Session, name: str, now: datetime, actor: str | None = None) -> ApiKey:
    key = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if key is None:
        raise NotFound(f"No API key named {name!r}.")
    if key.revoked_at is None:
        key.revoked_at = now
        audit.record(session, actor, "key_revoked", name, now, None, {"scope": key.scope})
    return key


def authenticate(session: Session, secret: str) -> Principal | None:
    """The principal for a presented key, or None."""
    digest = hash_key(secret)
    return principal_for(session.execute(KEY_BY_HASH, {"digest": digest}).first(), digest)


def principal_for(key, digest: str) -> Principal | None:
    """The principal for the key row found by ``digest`` (or None); the hash is compared in constant time."""
    if key is None or key.revoked_at is not None or not hmac.compare_digest(key.key_hash, digest):
        return None
    return Principal(kind="key", name=key.name, scope=key.scope)
