"""What a view needs from the request context, in one place."""

from flask import g

from loyalty.extensions import db
from loyalty.services.rules import ActiveRules, active_rules


def session():
    return db.session()


def rules() -> ActiveRules:
    """The active rules, read once per request (with the caller's key, if it was one)."""
    if "active_rules" not in g:
        g.active_rules = active_rules(db.session(), g.get("active_version"))
    return g.active_rules


def actor() -> str | None:
    principal = g.get("principal")
    return principal.name if principal else None
