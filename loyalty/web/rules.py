"""The rules editor: check as you type, simulate, backtest, publish, versions, diff, roll back."""

import difflib
import json
from datetime import UTC, date, datetime, time, timedelta

from flask import Response, abort, flash, redirect, render_template, request, url_for

from loyalty import clock
from loyalty.db.replica import read_behind
from loyalty.db.transactions import write_transaction
from loyalty.engine import EventFacts, Item
from loyalty.engine.program_changes import program_changes
from loyalty.errors import ConfirmationRequired, LoyaltyError, RulesRejected
from loyalty.extensions import db
from loyalty.services import publish_risks
from loyalty.services import rules as rules_service
from loyalty.services.backtest import backtest
from loyalty.services.simulation import member_state, simulate
from loyalty.web import blp
from loyalty.web.auth import actor, admin_required
from loyalty.web.members import find_member

MAX_YAML = 200_000
#: The impact shown beside the changes as you edit: a backtest of this many days up to today.
IMPACT_DAYS = 30


def _editor(yaml_text: str | None = None, errors: list | None = None, status: int = 200, note: str = "",
            refusal: dict | None = None):
    """The editor page; after a refused publish or rollback, ``refusal`` says why at the top and the note stays."""
    session = db.session
    active = rules_service.active_version(session)
    program = rules_service.active_rules(session).program
    today = clock.now().astimezone(program.timezone).date()
    return render_template(
        "admin/rules.html", active=active, yaml_text=active.yaml if yaml_text is None else yaml_text,
        errors=errors or [], versions=rules_service.versions(session), catalog=program.catalog(),
        program=program, today=today, backtest_from=today - timedelta(days=28), note=note, refusal=refusal,
        impact_from=today - timedelta(days=IMPACT_DAYS - 1),
    ), status


@blp.get("/rules")
@admin_required
def rules_editor():
    return _editor()


@blp.post("/rules/check")
@admin_required
def rules_check():
    """Validation as you type: every error with its line and column, and what the text changes in the active
    program, in words (JSON)."""
    try:
        candidate = rules_service.compile_rules(yaml_from(request.get_json(silent=True) or {}))
    except RulesRejected as rejected:
        return {"valid": False, "errors": rejected.details["errors"], "changes": []}
    return {"valid": True, "errors": [],
            "changes": program_changes(rules_service.active_rules(db.session).program, candidate)}


@blp.post("/rules/publish")
@admin_required
def rules_publish():
    text, note = yaml_from(request.form), request.form.get("note", "").strip()[:500]
    refused = {"title": "Not published"}
    if not note:
        return _editor(text, [{"line": None, "column": None, "path": "note",
                               "message": "Say what changed and why in the note."}], 422, note, refused)
    try:
        with write_transaction(db.session()):
            row = rules_service.publish(db.session(), text, actor(), note, request.form.get("confirm") == "1")
    except RulesRejected as rejected:
        return _editor(text, rejected.details["errors"], 422, note, refused)
    except ConfirmationRequired as risky:
        return _editor(text, None, 409, note, {"title": "Not published yet: this change needs a confirmation",
                                              "warnings": risky.details["warnings"]})
    flash(f"Published version {row.version}: it is active now.")
    return redirect(url_for("admin.rules_editor"))


@blp.post("/rules/versions/<int:version>/activate")
@admin_required
def rules_activate(version):
    try:
        with write_transaction(db.session()):
            rules_service.activate(db.session(), version, actor(), request.form.get("confirm") == "1")
    except ConfirmationRequired as risky:
        return _editor(status=409, refusal={"title": f"Not rolled back yet: version {version} needs a confirmation",
                                            "warnings": risky.details["warnings"], "rollback": version})
    except LoyaltyError as error:
        abort(404, error.message)
    flash(f"Version {version} is active again.")
    return redirect(url_for("admin.rules_editor"))


@blp.get("/rules/versions/<int:version>/rollback")
@admin_required
def rules_rollback(version):
    """Before rolling back: what the old version changes against the active one, in words, with its warnings and
    its impact on the last 30 days; the marketer confirms or goes back."""
    row = _version(version)
    session = db.session
    active = rules_service.active_version(session)
    current = rules_service.active_rules(session).program
    target = rules_service.program_for_version(session, row.version)
    now = clock.now()
    today = now.astimezone(current.timezone).date()
    first = today - timedelta(days=IMPACT_DAYS - 1)
    report = backtest(session, target, current, _midnight(first, current),
                      _midnight(today + timedelta(days=1), current), top=10)
    return render_template(
        "admin/rollback.html", row=row, active=active, program=current, changes=program_changes(current, target),
        warnings=publish_risks.warnings(session, current, target, now), report=report, first=first,
        last=today, tier_names={**current.tier_names, **target.tier_names})


@blp.get("/rules/versions/<int:version>.yaml")
@admin_required
def rules_download(version):
    row = _version(version)
    return Response(row.yaml, mimetype="text/yaml",
                    headers={"Content-Disposition": f'attachment; filename="program-v{version}.yaml"'})


@blp.get("/rules/diff")
@admin_required
def rules_diff():
    old, new = _version(request.args.get("a", type=int)), _version(request.args.get("b", type=int))
    lines = difflib.unified_diff(old.yaml.splitlines(), new.yaml.splitlines(),
                                 f"version {old.version}", f"version {new.version}", lineterm="", n=3)
    return render_template("admin/diff.html", old=old, new=new, lines=[_diff_line(line) for line in lines])


@blp.post("/rules/simulate")
@admin_required
def rules_simulate():
    """One sample event for a real or described member under the editor's YAML (HTML fragment)."""
    form = request.form
    try:
        program = rules_service.compile_rules(yaml_from(form))
        state = _member(form)
        facts = _event(form, program)
    except RulesRejected as rejected:
        return render_template("admin/_problems.html", errors=rejected.details["errors"]), 422
    except _FormError as error:
        return render_template("admin/_problems.html", errors=[{"message": str(error)}]), 422
    [result] = simulate(program, [facts], **state)
    return render_template("admin/_simulation.html", result=result, facts=facts, program=program,
                           total=sum(a.points for a in result["awarded"]), member=state)


@blp.post("/rules/backtest")
@admin_required
def rules_backtest():
    form = request.form
    try:
        candidate = rules_service.compile_rules(yaml_from(form))
        program = rules_service.active_rules(db.session).program
        first, last = _date(form.get("from"), "from"), _date(form.get("to"), "to")
        start, end = _midnight(first, program), _midnight(last + timedelta(days=1), program)
        report = read_behind(lambda session: backtest(session, candidate, program, start, end, top=10))
    except RulesRejected as rejected:
        return render_template("admin/_problems.html", errors=rejected.details["errors"]), 422
    except LoyaltyError as error:
        return render_template("admin/_problems.html", errors=_field_messages(error)), 422
    except _FormError as error:
        return render_template("admin/_problems.html", errors=[{"message": str(error)}]), 422
    return render_template("admin/_backtest.html", report=report, first=first, last=last,
                           tier_names={**program.tier_names, **candidate.tier_names})


class _FormError(ValueError):
    pass


def yaml_from(data) -> str:
    text = data.get("yaml") or ""
    if not isinstance(text, str) or not text.strip():
        raise RulesRejected([{"line": 1, "column": 1, "path": "", "message": "the rules are empty"}])
    if len(text) > MAX_YAML:
        raise RulesRejected([{"line": 1, "column": 1, "path": "", "message": "the rules are too long"}])
    return text


def _version(number: int | None):
    row = rules_service.get_version(db.session, number)
    if row is None:
        abort(404, f"No rules version {number}.")
    return row


def _diff_line(line: str) -> tuple[str, str]:
    if line.startswith(("+++", "---")):
        return "file", line
    if line.startswith("@@"):
        return "hunk", line
    return {"+": "added", "-": "removed"}.get(line[:1], "same"), line


def _member(form) -> dict:
    reference = form.get("member", "").strip()
    if reference:
        member = find_member(db.session, reference)
        if member is None:
            raise _FormError(f"No member {reference!r} (give a member id, external id or email).")
        return member_state(db.session, member.id)
    return {"tier_id": form.get("tier") or None, "email": form.get("email") or None,
            "referred": form.get("referred") == "on"}


def _event(form, program) -> EventFacts:
    kind = form.get("type", "").strip() or "purchase"
    when = form.get("occurred_at", "").strip()
    try:
        occurred_at = (datetime.fromisoformat(when).replace(tzinfo=program.timezone).astimezone(UTC)
                       if when else clock.now())
    except ValueError:
        raise _FormError("The time must look like 2026-12-24T10:30.") from None
    amount, items = None, ()
    if kind == "purchase":
        amount = _cents(form.get("amount"), "amount")
        if form.get("category") or form.get("sku"):
            items = (Item(sku=form.get("sku") or None, category=form.get("category") or None,
                          quantity=int(_cents(form.get("quantity") or "1", "quantity", whole=True)),
                          unit_amount=_cents(form.get("unit_amount") or "0", "item price")),)
    attributes = {}
    for line in (form.get("attributes") or "").splitlines():
        if line.strip():
            name, sep, value = line.partition("=")
            if not sep or not name.strip():
                raise _FormError("Attributes are one name=value a line, e.g. stars=5.")
            attributes[name.strip()] = _attribute(value.strip())
    return EventFacts(type=kind, occurred_at=occurred_at, amount=amount,
                      currency=program.currency if kind == "purchase" else None,
                      store_id=form.get("store_id") or None, channel=form.get("channel") or None,
                      items=items, attributes=attributes)


def _cents(text: str | None, name: str, whole: bool = False) -> int:
    """Money typed as 12.50 (dollars) → 1250 minor units; counts as plain integers."""
    if (text or "").strip().startswith("-"):
        raise _FormError(f"The {name} may not be negative.")
    try:
        if whole:
            value = int(text or "")
        else:
            units, _, cents = (text or "0").strip().partition(".")
            value = int(units or "0") * 100 + int((cents + "00")[:2] or "0")
    except ValueError:
        raise _FormError(f"The {name} must be a number.") from None
    return value


def _attribute(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _date(text: str | None, name: str) -> date:
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        raise _FormError(f"Choose the {name} date.") from None


def _midnight(day: date, program) -> datetime:
    return datetime.combine(day, time(), tzinfo=program.timezone).astimezone(UTC)


def _field_messages(error: LoyaltyError) -> list[dict]:
    fields = error.details.get("fields") or {}
    return [{"message": f"{name}: {message}"} for name, messages in fields.items() for message in messages] \
        or [{"message": error.message}]
