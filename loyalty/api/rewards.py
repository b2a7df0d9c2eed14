"""The reward catalog and redemptions: spend points at the till."""

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loyalty import clock
from loyalty.api import context
from loyalty.api.docs import error_responses
from loyalty.api.events import IDEMPOTENCY_HEADER
from loyalty.api.fields import Timestamp
from loyalty.api.idempotent import write
from loyalty.api.schemas import PageQuerySchema, StrictSchema, page_schema
from loyalty.engine.rewards import REWARD_TYPES
from loyalty.http.auth import requires
from loyalty.models.redemption import REDEMPTION_STATUSES
from loyalty.services import members, redemptions

blp = Blueprint("rewards", __name__, url_prefix="/v1", description="Rewards and redemptions")


class RewardSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    description = ma.fields.String()
    points_cost = ma.fields.Integer()
    type = ma.fields.String(metadata={"enum": list(REWARD_TYPES)})
    value = ma.fields.Integer(allow_none=True, metadata={
        "description": "Minor units for fixed_discount and store_credit, a percentage for percent_discount."})
    currency = ma.fields.String(allow_none=True)
    tiers = ma.fields.List(ma.fields.String(), metadata={"description": "Tiers whose members may redeem it."})
    stock_remaining = ma.fields.Integer(allow_none=True, metadata={"description": "null: unlimited."})
    available_from = ma.fields.Date(allow_none=True)
    available_until = ma.fields.Date(allow_none=True)
    code_valid_days = ma.fields.Integer()
    stripe = ma.fields.Boolean(metadata={"description": "Issued as a Stripe promotion code."})
    eligible = ma.fields.Boolean(metadata={"description": "Only with member_id."})
    ineligible_reason = ma.fields.String(allow_none=True, metadata={"description": "Only with member_id."})


class RewardListSchema(ma.Schema):
    data = ma.fields.List(ma.fields.Nested(RewardSchema))
    next_cursor = ma.fields.String(allow_none=True)


class RewardQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    member_id = ma.fields.String(validate=validate.Length(min=1, max=32))


class RedemptionSchema(ma.Schema):
    id = ma.fields.String()
    reward_id = ma.fields.String()
    member_id = ma.fields.String()
    points_spent = ma.fields.Integer()
    code = ma.fields.String()
    status = ma.fields.Method("_status", metadata={"enum": list(REDEMPTION_STATUSES)})
    issued_at = Timestamp()
    expires_at = Timestamp()
    completed_at = Timestamp(allow_none=True)
    voided_at = Timestamp(allow_none=True)
    stripe_promotion_code = ma.fields.String(allow_none=True)

    def _status(self, redemption) -> str:
        return redemptions.effective_status(redemption, clock.now())


RedemptionPageSchema = page_schema(RedemptionSchema, "RedemptionPageSchema")


class RedemptionQuerySchema(PageQuerySchema):
    status = ma.fields.String(validate=validate.OneOf(REDEMPTION_STATUSES))


class RedeemInSchema(StrictSchema):
    reward_id = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))


def stripe_gateway():
    """The Stripe gateway when STRIPE_API_KEY is set, else None."""
    if not current_app.config.get("STRIPE_API_KEY"):
        return None
    from loyalty.integrations.stripe import gateway_for

    return gateway_for(current_app.config)


def redeem_for(member_id: str, reward_id: str, schema=None, shown=None):
    """The one redemption path, shared by the till's and the widget's endpoints: the widget answers with a
    ``schema`` of its own, the redemption ``shown`` as its customer sees it."""
    def work():
        redemption = redemptions.redeem(context.session(), context.rules(), member_id, reward_id,
                                        context.actor(), clock.now(), stripe_gateway()).redemption
        return redemption if shown is None else shown(redemption)

    return write(201, schema or RedemptionSchema, work)


@blp.route("/rewards")
class Rewards(MethodView):
    @requires("pos")
    @blp.arguments(RewardQuerySchema(), location="query")
    @blp.response(200, RewardListSchema)
    @error_responses(blp, 404)
    def get(self, query):
        """The catalog; with member_id, whether that member can redeem each reward now and why not."""
        session = context.session()
        member = None
        if "member_id" in query:
            member = members.get(session, query["member_id"])
        rewards = redemptions.reward_catalog(session, context.rules(), member, clock.now())
        return {"data": rewards, "next_cursor": None}


@blp.route("/members/<member_id>/redemptions")
class MemberRedemptions(MethodView):
    @requires("pos")
    @blp.arguments(RedeemInSchema())
    @blp.response(201, RedemptionSchema)
    @blp.doc(parameters=[IDEMPOTENCY_HEADER])
    @error_responses(blp, 400, 404, 409, 413, 502)
    def post(self, data, member_id):
        """Spend points on a reward; points leave the lots that expire first."""
        return redeem_for(member_id, data["reward_id"])

    @requires("pos")
    @blp.arguments(RedemptionQuerySchema(), location="query")
    @blp.response(200, RedemptionPageSchema)
    @error_responses(blp, 404)
    def get(self, query, member_id):
        """The member's redemptions, newest first."""
        page, next_cursor = redemptions.member_redemptions(
            context.session(), member_id, query["limit"], query["cursor"], query.get("status"))
        return {"data": page, "next_cursor": next_cursor}


@blp.route("/redemptions/<id_or_code>")
class RedemptionLookup(MethodView):
    @requires("pos")
    @blp.response(200, RedemptionSchema)
    @error_responses(blp, 404)
    def get(self, id_or_code):
        """Look up the code a customer shows (case and dashes do not matter), or an id."""
        return redemptions.lookup(context.session(), id_or_code)


@blp.route("/redemptions/<redemption_id>/complete")
class RedemptionComplete(MethodView):
    @requires("pos")
    @blp.response(200, RedemptionSchema)
    @error_responses(blp, 404, 409)
    def post(self, redemption_id):
        """Applied at checkout. Completing a completed redemption again changes nothing."""
        return write(200, RedemptionSchema, lambda: redemptions.complete(
            context.session(), redemption_id, context.actor(), clock.now()), key_required=False)


@blp.route("/redemptions/<redemption_id>/void")
class RedemptionVoid(MethodView):
    @requires("pos")
    @blp.response(200, RedemptionSchema)
    @blp.doc(parameters=[IDEMPOTENCY_HEADER])
    @error_responses(blp, 400, 404, 409, 502)
    def post(self, redemption_id):
        """Cancel: the points return to the lots they left, with their original expiry."""
        return write(200, RedemptionSchema, lambda: redemptions.void(
            context.session(), context.rules(), redemption_id, context.actor(), clock.now(),
            stripe_gateway()).redemption)
