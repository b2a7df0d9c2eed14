"""Opaque, prefixed, unguessable identifiers (``mem_…``, ``evt_…``, ``txn_…``)."""

import base64
import secrets


def new_id(prefix: str) -> str:
    token = base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()
    return f"{prefix}_{token}"


REFERRAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_referral_code(length: int = 8) -> str:
    """Readable over the phone: no 0/O or 1/I."""
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(length))
