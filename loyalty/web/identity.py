"""Merging a duplicate from a member's page (a preview, then a confirmation) and transferring points."""

import json

from flask import flash, redirect, render_template, request, url_for

from loyalty import clock
from loyalty.errors import LoyaltyError
from loyalty.extensions import db
from loyalty.http.idempotency import fingerprint, run_once
from loyalty.ids import new_id
from loyalty.models import Member
from loyalty.services import merges, transfers
from loyalty.services.duplicates import duplicate_groups
from loyalty.services.member_view import member_view
from loyalty.services.rules import active_rules
from loyalty.web import blp
from loyalty.web.auth import actor, admin_required
from loyalty.web.dashboard import STAGE_NAMES
from loyalty.web.members import find_member, render_member_page


@blp.get("/members/duplicates")
@admin_required
def duplicate_list():
    """Every group of likely duplicates, each with a link to preview merging the others into the oldest."""
    return render_template("admin/duplicates.html", groups=duplicate_groups(db.session))


@blp.get("/members/<member_id>/merge")
@admin_required
def merge_preview(member_id):
    """What merging the duplicate (``?duplicate=`` an id, external id, email or phone) would give."""
    session = db.session
    survivor = session.get(Member, member_id)
    if survivor is None:
        return render_member_page(member_id)
    reference = request.args.get("duplicate", "").strip()
    duplicate = find_member(session, reference) if reference else None
    if duplicate is None:
        return render_member_page(member_id, errors={"merge": f"No member matches “{reference}”."}, status=404)
    rules = active_rules(session)
    now = clock.now()
    views = {m.id: member_view(session, rules.program, m, now) for m in (survivor, duplicate)}
    members = {m.id: m for m in (survivor, duplicate)}
    try:
        result = merges.preview(session, rules, survivor.id, duplicate.id, actor(), now)
    except LoyaltyError as error:
        return render_member_page(member_id, errors={"merge": error.message}, status=error.status)
    return render_template("admin/merge.html", survivor=members[survivor.id], duplicate=members[duplicate.id],
                           views=views, result=result, stages=STAGE_NAMES, program=rules.program,
                           idempotency_key=new_id("mrg"))


@blp.post("/members/<member_id>/merge")
@admin_required
def merge_confirmed(member_id):
    form = request.form
    duplicate_id, key = form.get("duplicate_id", ""), form.get("idempotency_key", "")
    if form.get("confirm") != "1" or not duplicate_id or not 1 <= len(key) <= 255:
        return redirect(url_for("admin.merge_preview", member_id=member_id, duplicate=duplicate_id))
    note = form.get("note", "").strip()[:500] or None

    def work() -> tuple[int, str]:
        merges.merge(db.session(), active_rules(db.session()), member_id, duplicate_id, actor(), clock.now(), note)
        return 200, json.dumps({"member_id": member_id, "merged_member_id": duplicate_id})

    body = json.dumps({"member_id": member_id, "duplicate_id": duplicate_id}).encode()
    try:
        stored = run_once(db.session(), f"admin-web:{actor()}", key, fingerprint("POST", request.path, body),
                          clock.now(), work)
    except LoyaltyError as error:
        return render_member_page(member_id, errors={"merge": error.message}, status=error.status)
    flash("That merge was already made; nothing more changed." if stored.replayed
          else f"Merged {duplicate_id} into this member.")
    return redirect(url_for("admin.member_page", member_id=member_id))


@blp.post("/members/<member_id>/transfers")
@admin_required
def member_transfer(member_id):
    form = request.form
    try:
        points = int(form.get("points", ""))
    except ValueError:
        return render_member_page(member_id, form=form, status=422,
                            transfer_error="Give a whole number of points to transfer, e.g. 100.")
    reference = form.get("to", "").strip()
    receiver = find_member(db.session, reference) if reference else None
    if receiver is None:
        return render_member_page(member_id, form=form, status=422,
                            transfer_error=f"No member matches “{reference}”: give an id, external id or email.")
    note, key = form.get("note", "").strip()[:500] or None, form.get("transfer_key", "")

    def work() -> tuple[int, str]:
        outcome = transfers.transfer(db.session(), active_rules(db.session()), member_id, receiver.id, points, note,
                                     actor(), clock.now())
        return 201, json.dumps({"transfer_id": outcome.transfer.id})

    body = json.dumps({"member_id": member_id, "to": receiver.id, "points": points}).encode()
    try:
        stored = run_once(db.session(), f"admin-web:{actor()}", key, fingerprint("POST", request.path, body),
                          clock.now(), work)
    except LoyaltyError as error:
        return render_member_page(member_id, form=form, status=error.status, transfer_error=_in_words(error))
    flash("That transfer was already made; nothing more changed." if stored.replayed
          else f"Transferred {points:,} points to {receiver.id}.")
    return redirect(url_for("admin.member_page", member_id=member_id))


def _in_words(error: LoyaltyError) -> str:
    fields = error.details.get("fields") if isinstance(error.details, dict) else None
    if fields:
        return "; ".join(f"{name}: {', '.join(messages)}" for name, messages in fields.items())
    return error.message
