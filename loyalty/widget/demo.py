"""/demo: a sample merchant page with the widget, for a demo member with a year of history.

Served only when WIDGET_DEMO is on (the development config). Each visitor gets
a member of their own, kept in the visitor's signed session for
DEMO_MEMBER_MINUTES and then replaced by a fresh one, so one visitor's
redemptions never leave the next with nothing to redeem; "Start over" makes a
fresh one at once. The history is recorded as it would have happened: the
member enrolls first, and every purchase is accrued at its own time, so the
earliest points fall due inside the widget's expiring-soon window and the
purchases reach Silver.
"""

import secrets
from datetime import datetime, timedelta

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for

from loyalty import clock
from loyalty.db.transactions import write_transaction
from loyalty.engine import Item
from loyalty.extensions import db
from loyalty.models import Member
from loyalty.services import accrual, customer, members
from loyalty.services.rules import ActiveRules, active_rules

blp = Blueprint("widget_demo", __name__, template_folder="templates")

DEMO_ACTOR = "demo"
DEMO_MEMBER_MINUTES = 30
#: The member enrolled this many days ago: its welcome points expire 12 months on, in 10 days.
ENROLLED_DAYS_AGO = 355
#: (days ago, amount, items): spend and coffee-bonus points, qualifying toward Silver.
PURCHASES = (
    (350, 4200, (Item(sku="beans-1kg", category="coffee", quantity=1, unit_amount=3000),
                 Item(sku="pastry-tray", category="food", quantity=1, unit_amount=1200))),
    (200, 26000, (Item(sku="catering-coffee", category="coffee", quantity=4, unit_amount=1500),
                  Item(sku="catering-food", category="food", quantity=1, unit_amount=20000))),
    (62, 8600, (Item(sku="coffee-box", category="coffee", quantity=1, unit_amount=4000),
                Item(sku="pastry-tray", category="food", quantity=1, unit_amount=4600))),
    (35, 1840, (Item(sku="latte-l", category="coffee", quantity=2, unit_amount=450),
                Item(sku="muffin", category="food", quantity=2, unit_amount=470))),
    (9, 5400, (Item(sku="beans-1kg", category="coffee", quantity=1, unit_amount=3000),
               Item(sku="mug", category="merch", quantity=1, unit_amount=2400))),
    (2, 1250, (Item(sku="flat-white", category="coffee", quantity=2, unit_amount=450),
               Item(sku="cookie", category="food", quantity=1, unit_amount=350))),
)


def seed_member(db_session, rules: ActiveRules, now: datetime) -> Member:
    """A fresh demo member: enrolled ENROLLED_DAYS_AGO with an email sign-up, then the purchases,
    each recorded at the moment it happened."""
    enrolled_at, suffix = now - timedelta(days=ENROLLED_DAYS_AGO), secrets.token_hex(6)
    member = members.enroll(db_session, rules, members.Enrolment(
        external_id=f"demo-{suffix}", email=f"ana.{suffix}@example.com", first_name="Ana", email_opt_in=True,
        channel="web"), DEMO_ACTOR, enrolled_at)
    for number, (days_ago, amount, items) in enumerate(PURCHASES, 1):
        at = now - timedelta(days=days_ago)
        accrual.record_event(db_session, rules, accrual.EventInput(
            type="purchase", member_id=member.id, source_id=f"{member.external_id}/order-{number}",
            occurred_at=at, amount=amount, currency=rules.program.currency, store_id="downtown", channel="pos",
            items=items,
        ), DEMO_ACTOR, at)
    return member


def _fresh_member_id() -> str:
    db_session = db.session()
    with write_transaction(db_session):
        member_id = seed_member(db_session, active_rules(db_session), clock.now()).id
    session["demo"] = {"member_id": member_id, "since": clock.now().isoformat()}
    return member_id


def visitor_member_id() -> str:
    """The visitor's demo member, or a fresh one when there is none or it is DEMO_MEMBER_MINUTES old."""
    kept = session.get("demo") or {}
    try:
        since = datetime.fromisoformat(kept["since"])
    except (KeyError, TypeError, ValueError):
        return _fresh_member_id()
    stale = clock.now() - since > timedelta(minutes=DEMO_MEMBER_MINUTES)
    if stale or db.session.get(Member, kept["member_id"]) is None:
        return _fresh_member_id()
    return kept["member_id"]


@blp.get("/demo")
def demo_page():
    """A pretend merchant page embedding the widget for the visitor's demo member."""
    if not current_app.config.get("WIDGET_DEMO"):
        abort(404)
    member_id = visitor_member_id()
    token = customer.issue_token(db.session(), current_app.config["SECRET_KEY"], member_id,
                                 timedelta(seconds=current_app.config["WIDGET_TOKEN_TTL_SECONDS"]), clock.now())
    mode = "launcher" if request.args.get("mode") == "launcher" else "inline"
    return render_template("widget_demo.html", token=token.token, member_id=member_id, mode=mode,
                           minutes=DEMO_MEMBER_MINUTES, script_url=request.host_url + "widget.js")


@blp.post("/demo/reset")
def reset_demo():
    """Start over: a fresh demo member for this visitor."""
    if not current_app.config.get("WIDGET_DEMO"):
        abort(404)
    _fresh_member_id()
    mode = request.form.get("mode")
    return redirect(url_for("widget_demo.demo_page", mode="launcher" if mode == "launcher" else None), code=303)
