"""Stripe: the webhook Stripe calls, and the operator's list of events that earned nothing."""

import marshmallow as ma
from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loyalty import clock
from loyalty.api import context
from loyalty.api.docs import error_responses
from loyalty.api.fields import Timestamp
from loyalty.api.schemas import ErrorSchema, PageQuerySchema, page_schema
from loyalty.db.transactions import write_transaction
from loyalty.http.auth import requires
from loyalty.models.stripe_event import STRIPE_EVENT_STATUSES
from loyalty.services import stripe_webhooks

blp = Blueprint("stripe", __name__, url_prefix="/v1", description="Stripe: paid checkouts and refunds in")

SIGNATURE_HEADER = {"in": "header", "name": "Stripe-Signature", "required": True,
                    "schema": {"type": "string"},
                    "description": "`t=<unix time>,v1=<hex HMAC-SHA256 of \"t.body\">`, set by Stripe"}
STRIPE_EVENT_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "description": "A Stripe event, exactly as Stripe sent it (the raw body is verified)",
    "required": ["id", "type", "created", "data"],
}}}}


class StripeReceiptSchema(ma.Schema):
    id = ma.fields.String(metadata={"description": "Stripe's event id"})
    type = ma.fields.String()
    status = ma.fields.String(metadata={"description": ", ".join(STRIPE_EVENT_STATUSES)})
    reason = ma.fields.String(allow_none=True)
    duplicate = ma.fields.Boolean(metadata={"description": "already received: nothing was changed"})
    member_id = ma.fields.String(allow_none=True)
    event_id = ma.fields.String(allow_none=True, metadata={"description": "the purchase it recorded or refunded"})


class StripeEventSchema(ma.Schema):
    id = ma.fields.String(metadata={"description": "Stripe's event id"})
    type = ma.fields.String()
    status = ma.fields.String(metadata={"description": ", ".join(STRIPE_EVENT_STATUSES)})
    reason = ma.fields.String(allow_none=True)
    livemode = ma.fields.Boolean()
    created_at = Timestamp(metadata={"description": "when Stripe created the event"})
    received_at = Timestamp()
    handled_at = Timestamp()
    object_id = ma.fields.String(allow_none=True, metadata={"description": "checkout session or charge id"})
    source_id = ma.fields.String(allow_none=True, metadata={"description": "payment intent (else session id)"})
    stripe_customer_id = ma.fields.String(allow_none=True)
    client_reference_id = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)
    amount = ma.fields.Integer(allow_none=True, metadata={"description": "amount_total, or amount_refunded"})
    currency = ma.fields.String(allow_none=True)
    member_id = ma.fields.String(allow_none=True)
    event_id = ma.fields.String(allow_none=True)


StripeEventPageSchema = page_schema(StripeEventSchema, "StripeEventPageSchema")


class StripeEventQuerySchema(PageQuerySchema):
    status = ma.fields.String(validate=validate.OneOf(STRIPE_EVENT_STATUSES),
                              metadata={"description": "only this status; default: every status but processed"})


@blp.route("/webhooks/stripe")
class StripeWebhook(MethodView):
    @blp.response(200, StripeReceiptSchema)
    @blp.alt_response(400, schema=ErrorSchema, description=(
        "invalid_signature: Stripe-Signature missing, wrong, or more than 5 minutes from now; "
        "bad_request: the signed body is not a Stripe event"))
    @blp.alt_response(413, schema=ErrorSchema, description="payload_too_large: the body exceeds MAX_CONTENT_LENGTH")
    @blp.doc(security=[], parameters=[SIGNATURE_HEADER], requestBody=STRIPE_EVENT_BODY)
    def post(self):
        """Stripe calls this with checkout and refund events.

        Stripe's signature, not an API key, proves the sender. Once verified, every
        event answers 200, also types this service does not act on and customers no
        member matches; a redelivered event changes nothing.
        """
        now = clock.now()
        event = stripe_webhooks.verify(request.get_data(), request.headers.get("Stripe-Signature"),
                                       current_app.config.get("STRIPE_WEBHOOK_SECRET"), now)
        with write_transaction(context.session()) as session:
            receipt = stripe_webhooks.handle(session, context.rules(), event, now)
        record = receipt.record
        return {"id": record.id, "type": record.type, "status": record.status, "reason": record.reason,
                "duplicate": receipt.duplicate, "member_id": record.member_id, "event_id": record.event_id}


@blp.route("/stripe/unmatched")
class StripeUnmatched(MethodView):
    @requires("admin")
    @blp.arguments(StripeEventQuerySchema(), location="query")
    @blp.response(200, StripeEventPageSchema)
    @error_responses(blp)
    def get(self, query):
        """Stripe events that moved no points, for an operator (admin).

        Newest first: unmatched customers, unhandled types, refunds waiting for
        their checkout, rejected and ignored events; `status` narrows the list.
        """
        page, next_cursor = stripe_webhooks.unresolved(context.session(), query.get("status"),
                                                       query["limit"], query["cursor"])
        return {"data": page, "next_cursor": next_cursor}
