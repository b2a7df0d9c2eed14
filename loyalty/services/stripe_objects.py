"""Reading Stripe objects: typed fields of a payload, and the member a checkout belongs to.

Stripe's payloads are JSON a third party sends: every field is checked for
its type before use, and anything unexpected reads as missing.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.models import Member
from loyalty.services import identity
from loyalty.services.members import normalize_email


def text_field(value) -> str | None:
    return value if isinstance(value, str) and value and len(value) <= 255 else None


def integer_field(value) -> int | None:
    return value if type(value) is int and value >= 0 else None


def currency_field(value) -> str | None:
    return value.upper() if isinstance(value, str) and len(value) == 3 else None


def mapping_field(value) -> dict:
    return value if isinstance(value, dict) else {}


def object_id(value) -> str | None:
    """An expandable field: an id, or the expanded object carrying it."""
    return text_field(value.get("id")) if isinstance(value, dict) else text_field(value)


def match_member(session: Session, checkout: dict) -> tuple[Member | None, str]:
    """The member a checkout belongs to, and how it was found (or what was tried).

    In order: ``metadata.loyalty_member_id``; ``client_reference_id`` as a member id
    or external_id; the Stripe customer as a member's ``stripe_customer_id``; the
    customer's email. Several members sharing a customer id or email match none.
    """
    metadata = mapping_field(checkout.get("metadata"))
    tried = []
    ways = (
        ("metadata.loyalty_member_id", text_field(metadata.get("loyalty_member_id")), _by_id),
        ("client_reference_id", text_field(checkout.get("client_reference_id")), _by_reference),
        ("customer", object_id(checkout.get("customer")), _by_customer),
        ("email", checkout_email(checkout), _by_email),
    )
    for way, value, find in ways:
        if not value:
            continue
        found = find(session, value)
        if len(found) == 1:
            return found[0], f"{way} {value!r}"
        tried.append(f"{way} {value!r} ({'several members' if found else 'no member'})")
    return None, "; ".join(tried) or "the session names no member, customer or email"


def checkout_email(checkout: dict) -> str | None:
    """What the customer typed at checkout, else the email the merchant passed in."""
    return normalize_email(text_field(mapping_field(checkout.get("customer_details")).get("email"))
                           or text_field(checkout.get("customer_email")))


def _by_id(session: Session, value: str) -> list[Member]:
    member = session.get(Member, value)
    return [member] if member else []


def _by_reference(session: Session, value: str) -> list[Member]:
    return _by_id(session, value) or list(session.scalars(select(Member).where(Member.external_id == value)))


def _by_customer(session: Session, value: str) -> list[Member]:
    return _unerased(session, Member.stripe_customer_id == value)


def _by_email(session: Session, value: str) -> list[Member]:
    return _unerased(session, Member.email == value)


def _unerased(session: Session, condition) -> list[Member]:
    """Members still in the program; a merged member stands for the member it was merged into, so a
    duplicate and its survivor sharing an email are one match."""
    found = session.scalars(select(Member.id).where(condition, Member.status != "erased").limit(3))
    return [session.get(Member, member_id) for member_id in sorted({identity.current_id(session, f) for f in found})]
