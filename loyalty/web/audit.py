"""The audit log page: who published, rolled back, adjusted, created or revoked a key, erased, merged or
transferred, and why."""

from flask import render_template, request

from loyalty.extensions import db
from loyalty.services import audit
from loyalty.services.rules import active_rules
from loyalty.web import blp
from loyalty.web.auth import admin_required

PAGE = 50
ACTION_WORDS = {"publish": "Published rules", "rollback": "Rolled back rules", "adjustment": "Adjusted points",
                "key_created": "Created an API key", "key_revoked": "Revoked an API key", "erasure": "Erased a member",
                "merge": "Merged members", "transfer": "Transferred points"}


@blp.get("/audit")
@admin_required
def audit_log():
    action = request.args.get("action") or None
    if action not in audit.ACTIONS:
        action = None
    rows, next_cursor = audit.entries(db.session, PAGE, request.args.get("cursor"), action)
    program = active_rules(db.session).program
    return render_template("admin/audit.html", rows=rows, next_cursor=next_cursor, action=action,
                           actions=ACTION_WORDS, timezone=program.timezone)
