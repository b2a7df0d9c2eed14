"""/v1/me: the signed-in customer's own account, for the widget on the merchant's site.

Only a widget token opens these (an API key gets 403): the member is always
the token's, never an id from the request. Browsers may call them across
origins only from WIDGET_ALLOWED_ORIGINS.
"""

import marshmallow as ma
from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate
from webargs.fields import DelimitedList

from loyalty import clock
from loyalty.api import context
from loyalty.api.docs import error_responses
from loyalty.api.events import IDEMPOTENCY_HEADER
from loyalty.api.fields import Timestamp
from loyalty.api.ledger import TransactionQuerySchema, TransactionSchema
from loyalty.api.rewards import RedeemInSchema, RedemptionSchema, RewardListSchema, RewardSchema, redeem_for
from loyalty.api.schemas import MemberSchema, page_schema
from loyalty.http.auth import current_principal, requires_member
from loyalty.services import customer, history, redemptions
from loyalty.services.member_view import member_view

blp = Blueprint("me", __name__, url_prefix="/v1/me",
                description="The customer's own account (widget tokens only)")

INCLUDES = ("rewards", "transactions")
RECENT_ACTIVITY = 10
CORS_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key",
    "Access-Control-Max-Age": "600",
}


class ActivitySchema(TransactionSchema):
    description = ma.fields.String(metadata={"description": "Plain words for the customer."})
    detail = ma.fields.String(allow_none=True, metadata={
        "description": "How the rules computed an award (the event's explanation), or an adjustment's reason."})
    occurred_at = Timestamp(metadata={"description": "When the customer did it: the event's time, else created_at."})


ActivityPageSchema = page_schema(ActivitySchema, "ActivityPageSchema")


class ProgramNameSchema(ma.Schema):
    name = ma.fields.String()
    currency = ma.fields.String()


class MeSchema(MemberSchema):
    program = ma.fields.Nested(ProgramNameSchema)
    rewards = ma.fields.List(ma.fields.Nested(RewardSchema), metadata={
        "description": "With include=rewards: the catalog with eligible and ineligible_reason."})
    transactions = ma.fields.Nested(ActivityPageSchema, metadata={
        "description": f"With include=transactions: the {RECENT_ACTIVITY} latest entries, as /v1/me/transactions."})


class MeQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    include = DelimitedList(ma.fields.String(validate=validate.OneOf(INCLUDES)), load_default=list,
                            metadata={"description": "Comma-separated: rewards,transactions. The widget's "
                                                     "first render is this one request."})


def signed_in_member():
    return customer.signed_in_member(context.session(), current_principal().member_id)


def allowed_origins() -> set[str]:
    configured = current_app.config.get("WIDGET_ALLOWED_ORIGINS") or ""
    if isinstance(configured, str):
        configured = configured.split(",")
    return {origin.strip().rstrip("/").lower() for origin in configured if origin.strip()}


@blp.after_request
def cross_origin(response):
    """CORS for the configured merchant sites only; everyone else gets no Allow-Origin at all.
    A member's own data is never cached by browsers or proxies."""
    response.vary.add("Origin")
    response.headers.setdefault("Cache-Control", "no-store")
    origin = request.headers.get("Origin", "")
    if origin and origin.rstrip("/").lower() in allowed_origins():
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "Idempotent-Replayed, Retry-After"
        if request.method == "OPTIONS":
            response.headers.update(CORS_HEADERS)
    return response


@blp.route("")
class Me(MethodView):
    @requires_member
    @blp.arguments(MeQuerySchema(), location="query")
    @blp.response(200, MeSchema)
    @error_responses(blp)
    def get(self, query):
        """The member, and with ?include=rewards,transactions all the widget shows, in one request."""
        session, rules, now = context.session(), context.rules(), clock.now()
        member = signed_in_member()
        view = member_view(session, rules.program, member, now)
        view["program"] = {"name": rules.program.name, "currency": rules.program.currency}
        if "rewards" in query["include"]:
            view["rewards"] = redemptions.reward_catalog(session, rules, member, now)
        if "transactions" in query["include"]:
            view["transactions"] = _activity_page(member.id, RECENT_ACTIVITY, None, None)
        return view


@blp.route("/transactions")
class MyTransactions(MethodView):
    @requires_member
    @blp.arguments(TransactionQuerySchema(), location="query")
    @blp.response(200, ActivityPageSchema)
    @error_responses(blp)
    def get(self, query):
        """The member's ledger, newest first, each entry in plain words."""
        member = signed_in_member()
        return _activity_page(member.id, query["limit"], query["cursor"], query.get("type"))


@blp.route("/rewards")
class MyRewards(MethodView):
    @requires_member
    @blp.response(200, RewardListSchema)
    @error_responses(blp)
    def get(self):
        """The catalog, with whether this member can redeem each reward now and why not."""
        member = signed_in_member()
        rewards = redemptions.reward_catalog(context.session(), context.rules(), member, clock.now())
        return {"data": rewards, "next_cursor": None}


@blp.route("/redemptions")
class MyRedemptions(MethodView):
    @requires_member
    @blp.arguments(RedeemInSchema())
    @blp.response(201, RedemptionSchema)
    @blp.doc(parameters=[IDEMPOTENCY_HEADER])
    @error_responses(blp, 400, 404, 409, 413, 502)
    def post(self, data):
        """Spend the member's points on a reward; the answer holds the code to show at the till."""
        member = signed_in_member()
        return redeem_for(member.id, data["reward_id"])


def _activity_page(member_id: str, limit: int, cursor: str | None, entry_type: str | None) -> dict:
    session = context.session()
    page, next_cursor = history.entries(session, member_id, limit, cursor, entry_type)
    return {"data": customer.activity(session, context.rules().program, member_id, page),
            "next_cursor": next_cursor}
