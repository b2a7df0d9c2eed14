"""Member search, a member's ledger with an adjustment form, its likely duplicates, and the reward catalog."""

import json

from flask import current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from loyalty import clock
from loyalty.db.replica import read_behind
from loyalty.engine.reasons import money
from loyalty.errors import LoyaltyError
from loyalty.extensions import db
from loyalty.http.idempotency import fingerprint, run_once
from loyalty.ids import new_id
from loyalty.models import Member
from loyalty.services import adjustments, history
from loyalty.services.duplicates import likely_duplicates
from loyalty.services.member_search import matching
from loyalty.services.member_view import member_view
from loyalty.services.members import normalize_email
from loyalty.services.redemptions import reward_catalog
from loyalty.services.rules import active_rules
from loyalty.web import blp
from loyalty.web.auth import actor, admin_required
from loyalty.web.dashboard import STAGE_NAMES

MAX_POINTS = 10_000_000
REWARD_TYPE_LABELS = {"fixed_discount": "Amount off", "percent_discount": "Percent off", "free_item": "Free item",
                      "store_credit": "Store credit", "merchandise": "Merchandise", "custom": "Custom"}


def find_member(session: Session, reference: str) -> Member | None:
    """A member by id, external id, email or phone."""
    return session.scalar(select(Member).where(or_(
        Member.id == reference, Member.external_id == reference,
        Member.email == normalize_email(reference), Member.phone == reference,
    )).limit(1))


@blp.get("/members")
@admin_required
def member_search():
    query = request.args.get("q", "").strip()
    statement = matching(query) if query else select(Member)
    statement = statement.order_by(Member.enrolled_at.desc(), Member.id.desc()).limit(50)
    found = read_behind(lambda session: session.scalars(statement).all())
    return render_template("admin/members.html", query=query, members=found)


@blp.get("/members/<member_id>")
@admin_required
def member_page(member_id):
    return render_member_page(member_id)


@blp.post("/members/<member_id>/adjustments")
@admin_required
def member_adjust(member_id):
    """An adjustment from the form, applied once even if the form is sent twice (its key)."""
    form = request.form
    errors = {}
    try:
        points = int(form.get("points", ""))
        if points == 0 or abs(points) > MAX_POINTS:
            errors["points"] = "Give a number of points other than 0 (negative to take points away)."
    except ValueError:
        points, errors["points"] = 0, "Give a whole number of points, e.g. 40 or -40."
    reason = form.get("reason", "").strip()
    if not reason:
        errors["reason"] = "A reason is required: it is shown in the member's history."
    elif len(reason) > 500:
        errors["reason"] = "Keep the reason under 500 characters."
    key = form.get("idempotency_key", "")
    if not 1 <= len(key) <= 255:
        errors["points"] = "The form is incomplete: reload the page."
    if errors:
        return render_member_page(member_id, errors=errors, form=form, status=422)
    above = current_app.config["ADJUSTMENT_CONFIRM_ABOVE"]
    if abs(points) > above and form.get("confirm") != "1":
        return render_member_page(member_id, form=form, status=409, confirm={"points": points, "above": above})

    def work() -> tuple[int, str]:
        entry, _ = adjustments.adjust(db.session(), active_rules(db.session()), member_id, points, reason,
                                      actor(), clock.now())
        return 201, json.dumps({"entry_id": entry["id"], "points": entry["points"]})

    body = json.dumps({"member_id": member_id, "points": points, "reason": reason}).encode()
    try:
        stored = run_once(db.session(), f"admin-web:{actor()}", key,
                          fingerprint("POST", request.path, body), clock.now(), work)
    except LoyaltyError as error:
        return render_member_page(member_id, errors={"points": error.message}, form=form, status=error.status)
    if stored.replayed:
        flash("That adjustment was already made (the form was sent twice); nothing more changed.")
    else:
        flash(f"Adjusted by {points:+,} points.")
    return redirect(url_for("admin.member_page", member_id=member_id))


@blp.get("/rewards")
@admin_required
def reward_list():
    session = db.session
    rules = active_rules(session)
    return render_template("admin/rewards.html", rewards=reward_catalog(session, rules, None, clock.now()),
                           program=rules.program, tier_names=rules.program.tier_names, type_labels=REWARD_TYPE_LABELS,
                           money=money)


def render_member_page(member_id: str, errors: dict | None = None, form=None, status: int = 200,
                 confirm: dict | None = None, transfer_error: str | None = None):
    """The member's page; ``confirm`` asks a second time before a large adjustment, the form kept."""
    session = db.session
    member = session.get(Member, member_id)
    if member is None:
        return render_template("admin/error.html", error=_Missing(f"No member {member_id}.")), 404
    program = active_rules(session).program
    entries, next_cursor = history.entries(session, member_id, limit=50, cursor=request.args.get("cursor"))
    return render_template(
        "admin/member.html", member=member, view=member_view(session, program, member, clock.now()),
        entries=entries, next_cursor=next_cursor, errors=errors or {}, form=form or {},
        idempotency_key=(form or {}).get("idempotency_key") or new_id("adj"), confirm=confirm, program=program,
        rule_names={rule.id: rule.description or rule.id for rule in program.rules}, stages=STAGE_NAMES,
        duplicates=likely_duplicates(session, member) if member.merged_into_id is None else [],
        transfer_error=transfer_error, transfer_key=new_id("trf"),
    ), status


class _Missing:
    code, name = 404, "Not Found"

    def __init__(self, description: str):
        self.description = description
