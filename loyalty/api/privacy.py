"""Personal data of a member: erase it (GDPR), or export everything held."""

import functools

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from loyalty import clock
from loyalty.api import context
from loyalty.api.docs import error_responses
from loyalty.api.fields import Timestamp
from loyalty.api.idempotent import write
from loyalty.api.schemas import MemberSchema
from loyalty.http.auth import requires
from loyalty.services import privacy
from loyalty.services.member_view import member_view

blp = Blueprint("privacy", __name__, url_prefix="/v1/members", description="Members' personal data")


def requires_privacy_scope(view):
    """Scope ``PRIVACY_SCOPE`` (``pos`` by default, as the contract lists members under pos)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        return requires(current_app.config.get("PRIVACY_SCOPE", "pos"))(view)(*args, **kwargs)

    return wrapper


def _rows(description: str):
    return ma.fields.List(ma.fields.Dict(), metadata={"description": description})


class MemberExportSchema(ma.Schema):
    exported_at = Timestamp()
    member = ma.fields.Dict(metadata={"description": "every column of the member row"})
    events = _rows("customer actions recorded for the member")
    refunds = _rows("refunds of those events")
    transactions = _rows("ledger entries, oldest first")
    lots = _rows("points lots with their expiry")
    redemptions = _rows("rewards redeemed")
    tier_changes = _rows("tier history")
    member_days = _rows("per day: tier-qualifying points, and the use of limits and caps counted by day")
    rule_usage = _rows("use of rule limits and caps per longer period")
    stripe_events = _rows("Stripe events matched to the member")
    webhook_events = _rows("events sent to the merchant's webhook endpoints")


@blp.route("/<member_id>")
class MemberErasure(MethodView):
    @requires_privacy_scope
    @blp.response(200, MemberSchema)
    @error_responses(blp, 400, 404, 409)
    def delete(self, member_id):
        """Erase personal data: contact fields and external_id blanked, status `erased`, ledger kept."""
        def work():
            rules = context.rules()
            now = clock.now()
            member = privacy.erase(context.session(), member_id, context.actor(), now)
            current_app.logger.info("member erased", extra={"member_id": member_id, "actor": context.actor()})
            return member_view(context.session(), rules.program, member, now)

        return write(200, MemberSchema, work, key_required=False)


@blp.route("/<member_id>/export")
class MemberExport(MethodView):
    @requires_privacy_scope
    @blp.response(200, MemberExportSchema)
    @error_responses(blp, 404)
    def get(self, member_id):
        """Everything held about the member, row by row (a data subject access request)."""
        return privacy.export(context.session(), member_id, clock.now())
