"""Widget tokens: the merchant's site asks for one when its customer signs in."""

from datetime import timedelta

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loyalty import clock
from loyalty.api import context
from loyalty.api.docs import error_responses
from loyalty.api.fields import Timestamp
from loyalty.api.schemas import StrictSchema
from loyalty.http.auth import requires
from loyalty.services import customer

blp = Blueprint("widget_tokens", __name__, url_prefix="/v1/members",
                description="Tokens for the customer widget")

MIN_TTL_SECONDS = 60


class WidgetTokenInSchema(StrictSchema):
    ttl_seconds = ma.fields.Integer(strict=True, validate=validate.Range(min=MIN_TTL_SECONDS), metadata={
        "description": "Lifetime in seconds: WIDGET_TOKEN_TTL_SECONDS (3600) unless given; "
                       "at most WIDGET_TOKEN_MAX_TTL_SECONDS (86400)."})

    @ma.validates("ttl_seconds")
    def within_maximum(self, value, **kwargs):
        longest = current_app.config["WIDGET_TOKEN_MAX_TTL_SECONDS"]
        if value > longest:
            raise ma.ValidationError(f"must be at most {longest}")


class WidgetTokenSchema(ma.Schema):
    token = ma.fields.String(metadata={"description": "Authorization: Bearer <token> on /v1/me/*."})
    member_id = ma.fields.String()
    expires_at = Timestamp()


@blp.route("/<member_id>/widget-tokens")
class WidgetTokens(MethodView):
    @requires("pos")
    @blp.arguments(WidgetTokenInSchema())
    @blp.response(201, WidgetTokenSchema)
    @error_responses(blp, 404, 409, 413)
    def post(self, data, member_id):
        """A signed token that lets the widget read and spend this one member's points (1 hour by default)."""
        ttl = data.get("ttl_seconds", current_app.config["WIDGET_TOKEN_TTL_SECONDS"])
        return customer.issue_token(context.session(), current_app.config["SECRET_KEY"], member_id,
                                    timedelta(seconds=ttl), clock.now())
