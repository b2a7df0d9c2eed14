"""Events: customer actions in, points out, with the reason for every rule."""

import json

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loyalty import clock
from loyalty.api import context
from loyalty.api.docs import error_responses
from loyalty.api.fields import Timestamp
from loyalty.api.idempotent import write
from loyalty.api.schemas import MemberSchema, StrictSchema
from loyalty.engine import Item
from loyalty.http.auth import requires
from loyalty.services import accrual, refunds
from loyalty.services import events as event_queries
from loyalty.services.member_view import member_view

blp = Blueprint("events", __name__, url_prefix="/v1/events", description="Customer actions that earn points")

MAX_AMOUNT = 10**12  # minor units
#: An attribute's value, and all of them together, as JSON text: enough for a review's stars and
#: text or a visit's details, not a store for documents.
MAX_ATTRIBUTE_CHARS = 1_000
MAX_ATTRIBUTES_CHARS = 8_000


def bounded_attributes(attributes: dict) -> None:
    too_long = sorted(name for name, value in attributes.items()
                      if len(json.dumps(value, ensure_ascii=False)) > MAX_ATTRIBUTE_CHARS)
    if too_long:
        raise ma.ValidationError(f"each value may be at most {MAX_ATTRIBUTE_CHARS:,} characters as JSON;"
                                 f" too long: {', '.join(too_long)}")
    if len(json.dumps(attributes, ensure_ascii=False)) > MAX_ATTRIBUTES_CHARS:
        raise ma.ValidationError(f"may be at most {MAX_ATTRIBUTES_CHARS:,} characters as JSON in all")


IDEMPOTENCY_HEADER = {"in": "header", "name": "Idempotency-Key", "required": True,
                      "schema": {"type": "string", "minLength": 1, "maxLength": 255}}


class ItemSchema(StrictSchema):
    sku = ma.fields.String(allow_none=True, validate=validate.Length(max=255))
    category = ma.fields.String(allow_none=True, validate=validate.Length(max=255))
    quantity = ma.fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1_000_000))
    unit_amount = ma.fields.Integer(required=True, strict=True,
                                    validate=validate.Range(min=0, max=MAX_AMOUNT))

    @ma.post_load
    def to_item(self, data, **kwargs):
        return Item(sku=data.get("sku"), category=data.get("category"),
                    quantity=data["quantity"], unit_amount=data["unit_amount"])


class EventInSchema(StrictSchema):
    type = ma.fields.String(required=True, validate=validate.Regexp(
        r"^[a-z][a-z0-9_\-]{0,63}$", error="must be an action name such as purchase or review"))
    member_id = ma.fields.String(validate=validate.Length(min=1, max=32))
    external_id = ma.fields.String(validate=validate.Length(min=1, max=255))
    source_id = ma.fields.String(allow_none=True, validate=validate.Length(min=1, max=255))
    occurred_at = Timestamp(allow_none=True)
    amount = ma.fields.Integer(strict=True, allow_none=True, validate=validate.Range(
        min=0, max=MAX_AMOUNT, error="must be between {min} and {max} (minor units)"))
    currency = ma.fields.String(allow_none=True, validate=validate.Regexp(
        r"^[A-Z]{3}$", error="must be an ISO 4217 code such as USD"))
    store_id = ma.fields.String(allow_none=True, validate=validate.Length(max=255))
    channel = ma.fields.String(allow_none=True, validate=validate.Length(max=32))
    items = ma.fields.List(ma.fields.Nested(ItemSchema), validate=validate.Length(max=500))
    attributes = ma.fields.Dict(keys=ma.fields.String(validate=validate.Length(min=1, max=64)),
                                validate=[validate.Length(max=50), bounded_attributes])

    @ma.post_load
    def to_input(self, data, **kwargs):
        data["items"] = tuple(data.get("items") or ())
        data["attributes"] = data.get("attributes") or {}
        return accrual.EventInput(**data)


EVENT_IN = EventInSchema()


class AwardSchema(ma.Schema):
    rule_id = ma.fields.String()
    member_id = ma.fields.String()
    points = ma.fields.Integer()
    status = ma.fields.String()
    available_at = Timestamp()
    expires_at = Timestamp(allow_none=True)


class ExplanationSchema(ma.Schema):
    rule_id = ma.fields.String()
    matched = ma.fields.Boolean()
    points = ma.fields.Integer()
    reason = ma.fields.String()


class CardExplanationSchema(ma.Schema):
    card_id = ma.fields.String(attribute="rule_id")
    matched = ma.fields.Boolean(metadata={"description": "The purchase stamped the card."})
    stamp = ma.fields.Function(lambda line: line.args.get("stamp"), allow_none=True,
                               metadata={"description": "The card's count after this stamp: 7 of 9."})
    of = ma.fields.Function(lambda line: line.args.get("of"), allow_none=True)
    completed = ma.fields.Function(lambda line: line.code == "card_completed",
                                   metadata={"description": "This stamp completed the card."})
    points = ma.fields.Integer()
    reason = ma.fields.String(metadata={"description": "Stamp 7 of 9 on the Coffee card."})


class ChallengeExplanationSchema(ma.Schema):
    challenge_id = ma.fields.String(attribute="rule_id")
    matched = ma.fields.Boolean(metadata={"description": "The event counted for the challenge."})
    progress = ma.fields.Function(lambda line: line.args.get("n"), allow_none=True)
    of = ma.fields.Function(lambda line: line.args.get("of"), allow_none=True)
    completed = ma.fields.Function(lambda line: line.code == "challenge_completed")
    points = ma.fields.Integer()
    reason = ma.fields.String(metadata={"description": "2 of 3 categories this month."})


class StreakExplanationSchema(ma.Schema):
    streak_id = ma.fields.String(attribute="rule_id")
    matched = ma.fields.Boolean(metadata={"description": "The event counted a new period for the streak."})
    current = ma.fields.Function(lambda line: line.args.get("n"), allow_none=True)
    of = ma.fields.Function(lambda line: line.args.get("of"), allow_none=True)
    completed = ma.fields.Function(lambda line: line.code == "streak_completed")
    points = ma.fields.Integer()
    reason = ma.fields.String(metadata={"description": "Week 2 of 3 in a row on Weekly regular."})


class EventSummarySchema(ma.Schema):
    id = ma.fields.String()
    type = ma.fields.String()
    member_id = ma.fields.String()
    source_id = ma.fields.String(allow_none=True)
    occurred_at = Timestamp()
    amount = ma.fields.Integer(allow_none=True)
    currency = ma.fields.String(allow_none=True)
    rules_version = ma.fields.Integer()


class EventResultSchema(ma.Schema):
    event = ma.fields.Nested(EventSummarySchema)
    awarded = ma.fields.List(ma.fields.Nested(AwardSchema))
    explanation = ma.fields.List(ma.fields.Nested(ExplanationSchema))
    card_explanation = ma.fields.List(ma.fields.Nested(CardExplanationSchema), metadata={
        "description": "What the purchase did to each stamp card its items concern."})
    challenge_explanation = ma.fields.List(ma.fields.Nested(ChallengeExplanationSchema), metadata={
        "description": "What the event did to each challenge listening to it."})
    streak_explanation = ma.fields.List(ma.fields.Nested(StreakExplanationSchema), metadata={
        "description": "What the event did to each streak listening to it."})
    member = ma.fields.Nested(MemberSchema)


class PreviewSchema(ma.Schema):
    awarded = ma.fields.List(ma.fields.Nested(AwardSchema))
    explanation = ma.fields.List(ma.fields.Nested(ExplanationSchema))
    card_explanation = ma.fields.List(ma.fields.Nested(CardExplanationSchema))
    challenge_explanation = ma.fields.List(ma.fields.Nested(ChallengeExplanationSchema))
    streak_explanation = ma.fields.List(ma.fields.Nested(StreakExplanationSchema))


class EventDetailSchema(EventSummarySchema):
    store_id = ma.fields.String(allow_none=True)
    channel = ma.fields.String(allow_none=True)
    items = ma.fields.List(ma.fields.Dict(), allow_none=True)
    attributes = ma.fields.Dict(allow_none=True)
    recorded_at = Timestamp()
    refunded_amount = ma.fields.Integer()
    reversed_points = ma.fields.Integer()
    awarded = ma.fields.List(ma.fields.Nested(AwardSchema))
    explanation = ma.fields.List(ma.fields.Nested(ExplanationSchema))


class RefundInSchema(StrictSchema):
    amount = ma.fields.Integer(required=True, strict=True, validate=validate.Range(
        min=1, max=MAX_AMOUNT, error="must be between {min} and {max} (minor units)"))
    reason = ma.fields.String(allow_none=True, validate=validate.Length(max=500))


class RefundResultSchema(ma.Schema):
    id = ma.fields.String()
    event_id = ma.fields.String()
    amount = ma.fields.Integer()
    reversed_points = ma.fields.Integer()
    member = ma.fields.Nested(MemberSchema)


@blp.route("")
class EventCollection(MethodView):
    @requires("pos")
    @blp.arguments(EventInSchema())
    @blp.response(201, EventResultSchema)
    @blp.doc(parameters=[IDEMPOTENCY_HEADER])
    @error_responses(blp, 400, 404, 409, 413)
    def post(self, data):
        """Record a customer action; the active rules decide the points."""
        def work():
            rules = context.rules()
            now = clock.now()
            outcome = accrual.record_event(context.session(), rules, data, context.actor(), now)
            return {
                "event": outcome.event,
                "awarded": outcome.evaluation.awards,
                "explanation": outcome.evaluation.explanation,
                "card_explanation": outcome.evaluation.card_explanation,
                "challenge_explanation": outcome.evaluation.challenge_explanation,
                "streak_explanation": outcome.evaluation.streak_explanation,
                "member": member_view(context.session(), rules.program, outcome.member, now, outcome.expiring_soon),
            }

        return write(201, EventResultSchema, work)


@blp.route("/preview")
class EventPreview(MethodView):
    @requires("pos")
    @blp.arguments(EventInSchema())
    @blp.response(200, PreviewSchema)
    @error_responses(blp, 404, 413)
    def post(self, data):
        """What an event would earn now; nothing is written."""
        evaluation = accrual.preview_event(context.session(), context.rules(), data, clock.now())
        return {"awarded": evaluation.awards, "explanation": evaluation.explanation,
                "card_explanation": evaluation.card_explanation,
                "challenge_explanation": evaluation.challenge_explanation,
                "streak_explanation": evaluation.streak_explanation}


@blp.route("/<event_id>")
class EventItem(MethodView):
    @requires("pos")
    @blp.response(200, EventDetailSchema)
    @error_responses(blp, 404)
    def get(self, event_id):
        """A recorded event with its awards and the explanation given when it was recorded."""
        return event_queries.event_detail(context.session(), event_id)


@blp.route("/<event_id>/refunds")
class EventRefunds(MethodView):
    @requires("pos")
    @blp.arguments(RefundInSchema())
    @blp.response(201, RefundResultSchema)
    @blp.doc(parameters=[IDEMPOTENCY_HEADER])
    @error_responses(blp, 400, 404, 409, 413)
    def post(self, data, event_id):
        """Part or all of a purchase was returned: reverse its spend points in proportion."""
        def work():
            rules = context.rules()
            now = clock.now()
            outcome = refunds.refund_event(context.session(), rules, event_id, data["amount"],
                                           context.actor(), now, data.get("reason"))
            return {
                "id": outcome.refund.id, "event_id": event_id, "amount": outcome.refund.amount,
                "reversed_points": outcome.refund.reversed_points,
                "member": member_view(context.session(), rules.program, outcome.member, now),
            }

        return write(201, RefundResultSchema, work)
