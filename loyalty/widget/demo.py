"""/demo: a sample merchant page with the widget, for a demo member with some history.

Served only when WIDGET_DEMO is on (the development config). The member is
enrolled on the first visit, in one transaction, and found again afterwards.
"""

from datetime import datetime, timedelta

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty import clock
from loyalty.db.transactions import write_transaction
from loyalty.engine import Item
from loyalty.errors import MemberExists
from loyalty.extensions import db
from loyalty.models import Member
from loyalty.services import accrual, customer, members
from loyalty.services.rules import ActiveRules, active_rules

blp = Blueprint("widget_demo", __name__, template_folder="templates")

DEMO_EXTERNAL_ID = "demo-customer"
DEMO_ACTOR = "demo"
#: (days ago, amount, items): spend and coffee-bonus points, qualifying toward Silver.
PURCHASES = (
    (62, 8600, (Item(sku="coffee-box", category="coffee", quantity=1, unit_amount=4000),
                Item(sku="pastry-tray", category="food", quantity=1, unit_amount=4600))),
    (35, 1840, (Item(sku="latte-l", category="coffee", quantity=2, unit_amount=450),
                Item(sku="muffin", category="food", quantity=2, unit_amount=470))),
    (9, 5400, (Item(sku="beans-1kg", category="coffee", quantity=1, unit_amount=3000),
               Item(sku="mug", category="merch", quantity=1, unit_amount=2400))),
    (2, 1250, (Item(sku="flat-white", category="coffee", quantity=2, unit_amount=450),
               Item(sku="cookie", category="food", quantity=1, unit_amount=350))),
)


def seed_member(session: Session, rules: ActiveRules, now: datetime) -> Member:
    """The demo member: enrolled with email sign-up, four purchases. Idempotent."""
    member = session.scalar(select(Member).where(Member.external_id == DEMO_EXTERNAL_ID))
    if member is not None:
        return member
    enrolled = members.enroll(session, rules, members.Enrolment(
        external_id=DEMO_EXTERNAL_ID, email="ana.demo@example.com", first_name="Ana",
        email_opt_in=True, channel="web"), DEMO_ACTOR, now)
    for number, (days_ago, amount, items) in enumerate(PURCHASES, 1):
        accrual.record_event(session, rules, accrual.EventInput(
            type="purchase", member_id=enrolled.id, source_id=f"demo/order-{number}",
            occurred_at=now - timedelta(days=days_ago), amount=amount,
            currency=rules.program.currency, store_id="downtown", channel="pos", items=items,
        ), DEMO_ACTOR, now)
    return enrolled


def demo_member_id() -> str:
    session = db.session()
    now = clock.now()
    try:
        with write_transaction(session):
            return seed_member(session, active_rules(session), now).id
    except MemberExists as exists:  # another process seeded it a moment ago
        return exists.details["member_id"]


@blp.get("/demo")
def demo_page():
    """A pretend merchant page embedding the widget for the demo member."""
    if not current_app.config.get("WIDGET_DEMO"):
        abort(404)
    token = customer.issue_token(db.session(), current_app.config["SECRET_KEY"], demo_member_id(),
                                 timedelta(seconds=current_app.config["WIDGET_TOKEN_TTL_SECONDS"]), clock.now())
    return render_template("widget_demo.html", token=token.token, script_url=request.host_url + "widget.js")
