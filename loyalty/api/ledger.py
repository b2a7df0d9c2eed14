"""A member's ledger and operator adjustments."""

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loyalty import clock
from loyalty.api import context
from loyalty.api.docs import error_responses
from loyalty.api.events import IDEMPOTENCY_HEADER
from loyalty.api.fields import Timestamp
from loyalty.api.idempotent import write
from loyalty.api.schemas import MemberSchema, PageQuerySchema, StrictSchema, page_schema
from loyalty.http.auth import requires
from loyalty.models.ledger import ENTRY_TYPES
from loyalty.services import adjustments, history
from loyalty.services.member_view import member_view

blp = Blueprint("ledger", __name__, url_prefix="/v1/members", description="The points ledger")


class TransactionSchema(ma.Schema):
    id = ma.fields.String()
    type = ma.fields.String()
    points = ma.fields.Integer()
    balance_after = ma.fields.Integer()
    rule_id = ma.fields.String(allow_none=True)
    event_id = ma.fields.String(allow_none=True)
    redemption_id = ma.fields.String(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    actor = ma.fields.String(allow_none=True)
    rules_version = ma.fields.Integer(allow_none=True)
    created_at = Timestamp()
    expires_at = Timestamp(allow_none=True)


TransactionPageSchema = page_schema(TransactionSchema, "TransactionPageSchema")


class TransactionQuerySchema(PageQuerySchema):
    type = ma.fields.String(validate=validate.OneOf(ENTRY_TYPES))


class AdjustmentInSchema(StrictSchema):
    points = ma.fields.Integer(required=True, strict=True, validate=[
        validate.Range(min=-10**9, max=10**9),
        validate.NoneOf([0], error="must not be 0"),
    ])
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))


class AdjustmentResultSchema(ma.Schema):
    transaction = ma.fields.Nested(TransactionSchema)
    member = ma.fields.Nested(MemberSchema)


@blp.route("/<member_id>/transactions")
class MemberTransactions(MethodView):
    @requires("pos")
    @blp.arguments(TransactionQuerySchema(), location="query")
    @blp.response(200, TransactionPageSchema)
    @error_responses(blp, 404)
    def get(self, query, member_id):
        """Ledger entries, newest first; the balance is always their sum."""
        page, next_cursor = history.entries(context.session(), member_id, query["limit"],
                                            query["cursor"], query.get("type"))
        return {"data": page, "next_cursor": next_cursor}


@blp.route("/<member_id>/adjustments")
class MemberAdjustments(MethodView):
    @requires("admin")
    @blp.arguments(AdjustmentInSchema())
    @blp.response(201, AdjustmentResultSchema)
    @blp.doc(parameters=[IDEMPOTENCY_HEADER])
    @error_responses(blp, 400, 404, 409, 410, 413)
    def post(self, data, member_id):
        """Correct a balance by hand; the reason is kept on the entry."""
        def work():
            rules = context.rules()
            now = clock.now()
            entry, member = adjustments.adjust(context.session(), rules, member_id, data["points"],
                                               data["reason"], context.actor(), now)
            return {"transaction": entry,
                    "member": member_view(context.session(), rules.program, member, now)}

        return write(201, AdjustmentResultSchema, work)
