"""Outgoing webhooks: endpoints a merchant subscribes, their delivery log, manual redelivery (admin)."""

from datetime import timedelta

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loyalty import clock, outbox
from loyalty.api import context
from loyalty.api.docs import error_responses
from loyalty.api.fields import Timestamp
from loyalty.api.idempotent import write
from loyalty.api.schemas import PageQuerySchema, StrictSchema, page_schema
from loyalty.db.transactions import write_transaction
from loyalty.extensions import db
from loyalty.http.auth import requires
from loyalty.models.outbox import DELIVERY_STATUSES
from loyalty.outbox import endpoints

blp = Blueprint("webhooks", __name__, url_prefix="/v1",
                description="Outgoing webhooks: events pushed to the merchant's systems, signed and retried")


class EndpointInSchema(StrictSchema):
    url = ma.fields.Url(required=True, schemes={"http", "https"}, require_tld=False,
                        validate=validate.Length(max=2048))
    events = ma.fields.List(ma.fields.String(validate=validate.OneOf(outbox.EVENT_TYPES)), required=True,
                            validate=validate.Length(min=1, max=len(outbox.EVENT_TYPES)))
    description = ma.fields.String(allow_none=True, validate=validate.Length(max=255))


class EndpointSchema(ma.Schema):
    id = ma.fields.String()
    url = ma.fields.String()
    events = ma.fields.List(ma.fields.String())
    description = ma.fields.String(allow_none=True)
    created_at = Timestamp()
    failures = ma.fields.Integer(metadata={"description": "failed requests in a row"})
    paused_until = Timestamp(allow_none=True, metadata={
        "description": "after a failure nothing is sent before this time (exponential backoff)"})


class EndpointWithSecretSchema(EndpointSchema):
    secret = ma.fields.String(metadata={"description": "HMAC-SHA256 key of Loyalty-Signature; shown only here"})
    previous_secret_expires_at = Timestamp(allow_none=True, metadata={
        "description": "until then, requests carry a second v1= signed with the previous secret"})


EndpointPageSchema = page_schema(EndpointSchema, "WebhookEndpointPageSchema")


class DeliverySchema(ma.Schema):
    id = ma.fields.String()
    endpoint_id = ma.fields.String()
    event_id = ma.fields.Function(lambda d: d.event.id)
    event_type = ma.fields.Function(lambda d: d.event.type)
    member_id = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"enum": list(DELIVERY_STATUSES)})
    attempts = ma.fields.Integer()
    next_attempt_at = Timestamp()
    give_up_at = Timestamp()
    last_attempt_at = Timestamp(allow_none=True)
    last_status_code = ma.fields.Integer(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    delivered_at = Timestamp(allow_none=True)
    created_at = Timestamp()


DeliveryPageSchema = page_schema(DeliverySchema, "WebhookDeliveryPageSchema")


class AttemptSchema(ma.Schema):
    attempted_at = Timestamp()
    status_code = ma.fields.Integer(allow_none=True)
    error = ma.fields.String(allow_none=True)
    duration_ms = ma.fields.Integer()


class DeliveryDetailSchema(DeliverySchema):
    payload = ma.fields.Function(lambda d: outbox.payload(d.event),
                                 metadata={"description": "the body sent: {id, type, created_at, data}"})
    attempt_log = ma.fields.List(ma.fields.Nested(AttemptSchema))


class DeliveryQuerySchema(PageQuerySchema):
    status = ma.fields.String(validate=validate.OneOf(DELIVERY_STATUSES))


@blp.route("/webhook-endpoints")
class EndpointCollection(MethodView):
    @requires("admin")
    @blp.arguments(EndpointInSchema())
    @blp.response(201, EndpointWithSecretSchema)
    @error_responses(blp, 400, 409, 413)
    def post(self, data):
        """Subscribe a URL to event types; the answer holds the signing secret, shown only once."""
        def work():
            return endpoints.create_endpoint(context.session(), data["url"], data["events"],
                                             data.get("description"), context.actor(), clock.now())

        return write(201, EndpointWithSecretSchema, work, key_required=False)

    @requires("admin")
    @blp.arguments(PageQuerySchema(), location="query")
    @blp.response(200, EndpointPageSchema)
    @error_responses(blp)
    def get(self, query):
        """Subscribed endpoints, newest first (secrets are not shown)."""
        page, next_cursor = endpoints.list_endpoints(context.session(), query["limit"], query["cursor"])
        return {"data": page, "next_cursor": next_cursor}


@blp.route("/webhook-endpoints/<endpoint_id>")
class EndpointItem(MethodView):
    @requires("admin")
    @blp.response(200, EndpointSchema)
    @error_responses(blp, 404)
    def get(self, endpoint_id):
        """One endpoint, with its failure count and pause."""
        return endpoints.get_endpoint(context.session(), endpoint_id)

    @requires("admin")
    @blp.response(204)
    @error_responses(blp, 404)
    def delete(self, endpoint_id):
        """Unsubscribe: nothing more is sent and undelivered events are cancelled."""
        with write_transaction(db.session()):
            endpoints.delete_endpoint(context.session(), endpoint_id, clock.now())


@blp.route("/webhook-endpoints/<endpoint_id>/rotate-secret")
class EndpointSecret(MethodView):
    @requires("admin")
    @blp.response(200, EndpointWithSecretSchema)
    @error_responses(blp, 400, 404, 409)
    def post(self, endpoint_id):
        """A new signing secret; the old one keeps signing too for WEBHOOK_SECRET_GRACE_SECONDS."""
        grace = timedelta(seconds=int(current_app.config.get("WEBHOOK_SECRET_GRACE_SECONDS", 86400)))

        def work():
            return endpoints.rotate_secret(context.session(), endpoint_id, clock.now(), grace)

        return write(200, EndpointWithSecretSchema, work, key_required=False)


@blp.route("/webhook-endpoints/<endpoint_id>/deliveries")
class EndpointDeliveries(MethodView):
    @requires("admin")
    @blp.arguments(DeliveryQuerySchema(), location="query")
    @blp.response(200, DeliveryPageSchema)
    @error_responses(blp, 404)
    def get(self, query, endpoint_id):
        """The endpoint's delivery log, newest first; `?status=failed` for what was given up."""
        page, next_cursor = endpoints.deliveries(context.session(), endpoint_id, query["limit"],
                                                 query["cursor"], query.get("status"))
        return {"data": page, "next_cursor": next_cursor}


@blp.route("/webhook-deliveries/<delivery_id>")
class DeliveryItem(MethodView):
    @requires("admin")
    @blp.response(200, DeliveryDetailSchema)
    @error_responses(blp, 404)
    def get(self, delivery_id):
        """One delivery: the body sent and every attempt with its answer."""
        delivery = endpoints.get_delivery(context.session(), delivery_id)
        delivery.attempt_log = endpoints.attempts(context.session(), delivery)
        return delivery


@blp.route("/webhook-deliveries/<delivery_id>/redeliver")
class DeliveryRedeliver(MethodView):
    @requires("admin")
    @blp.response(202, DeliverySchema)
    @error_responses(blp, 400, 404, 409)
    def post(self, delivery_id):
        """Send the event again on the next delivery round (same event id); lifts the endpoint's pause."""
        def work():
            return endpoints.redeliver(context.session(), delivery_id, clock.now())

        return write(202, DeliverySchema, work, key_required=False)
