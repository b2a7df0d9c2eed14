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
from loyalty.api.ledger import TransactionQuerySchema
from loyalty.api.me_schemas import (
    ActivityPageSchema,
    MeSchema,
    MyRedemptionPageSchema,
    MyRedemptionSchema,
    MyRewardListSchema,
)
from loyalty.api.rewards import RedeemInSchema, redeem_for
from loyalty.api.schemas import PageQuerySchema
from loyalty.http.auth import current_principal, requires_member
from loyalty.services import customer, customer_account, redemptions

blp = Blueprint("me", __name__, url_prefix="/v1/me",
                description="The customer's own account (widget tokens only)")

INCLUDES = ("rewards", "transactions", "redemptions")
CORS_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key",
    "Access-Control-Max-Age": "600",
}


class MeQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    include = DelimitedList(ma.fields.String(validate=validate.OneOf(INCLUDES)), load_default=list,
                            metadata={"description": "Comma-separated: rewards,transactions,redemptions. The "
                                                     "widget's first render is this one request."})


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
        """The member with how to earn more and what expires next; with ?include=rewards,transactions,redemptions
        all the widget shows, in one request."""
        return customer_account.account(context.session(), context.rules(), signed_in_member(), clock.now(),
                                        set(query["include"]))


@blp.route("/transactions")
class MyTransactions(MethodView):
    @requires_member
    @blp.arguments(TransactionQuerySchema(), location="query")
    @blp.response(200, ActivityPageSchema)
    @error_responses(blp)
    def get(self, query):
        """The member's ledger, newest first, each entry in plain words."""
        return customer_account.activity_page(context.session(), context.rules(), signed_in_member().id,
                                              query["limit"], query["cursor"], query.get("type"))


@blp.route("/rewards")
class MyRewards(MethodView):
    @requires_member
    @blp.response(200, MyRewardListSchema)
    @error_responses(blp)
    def get(self):
        """The catalog, with whether this member can redeem each reward now and why not."""
        member = signed_in_member()
        rewards = redemptions.reward_catalog(context.session(), context.rules(), member, clock.now())
        return {"data": rewards, "next_cursor": None}


@blp.route("/redemptions")
class MyRedemptions(MethodView):
    @requires_member
    @blp.arguments(PageQuerySchema(), location="query")
    @blp.response(200, MyRedemptionPageSchema)
    @error_responses(blp)
    def get(self, query):
        """The member's redemptions, newest first: each code with its reward, status and expiry."""
        return customer_account.redemption_page(context.session(), context.rules(), signed_in_member().id,
                                                query["limit"], query["cursor"])

    @requires_member
    @blp.arguments(RedeemInSchema())
    @blp.response(201, MyRedemptionSchema)
    @blp.doc(parameters=[IDEMPOTENCY_HEADER])
    @error_responses(blp, 400, 404, 409, 413, 502)
    def post(self, data):
        """Spend the member's points on a reward; the answer holds the code to show at the till."""
        return redeem_for(signed_in_member().id, data["reward_id"], MyRedemptionSchema,
                          lambda redemption: customer_account.with_reward_name(context.rules(), redemption))
