"""One customer, one account: merging a duplicate member, and members giving each other points."""

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
from loyalty.api.schemas import MemberSchema, StrictSchema
from loyalty.http.auth import requires
from loyalty.services import merges, transfers
from loyalty.services.member_view import member_view

blp = Blueprint("identity", __name__, url_prefix="/v1/members",
                description="Merging duplicate members and transferring points between members")

MEMBER_ID = validate.Length(min=1, max=32)


class MergeInSchema(StrictSchema):
    member_id = ma.fields.String(required=True, validate=MEMBER_ID,
                                 metadata={"description": "The duplicate, merged into the member in the path."})
    note = ma.fields.String(validate=validate.Length(max=500))


class TransferInSchema(StrictSchema):
    to_member_id = ma.fields.String(required=True, validate=MEMBER_ID)
    points = ma.fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10**9))
    note = ma.fields.String(validate=validate.Length(max=500))


class TransferSchema(ma.Schema):
    id = ma.fields.String()
    from_member_id = ma.fields.String()
    to_member_id = ma.fields.String()
    points = ma.fields.Integer()
    note = ma.fields.String(allow_none=True)
    created_at = Timestamp()
    from_ = ma.fields.Nested(MemberSchema, data_key="from")
    to = ma.fields.Nested(MemberSchema)


@blp.route("/<member_id>/merge")
class MemberMerge(MethodView):
    @requires("admin")
    @blp.arguments(MergeInSchema())
    @blp.response(200, MemberSchema)
    @blp.doc(parameters=[IDEMPOTENCY_HEADER])
    @error_responses(blp, 400, 404, 409, 413)
    def post(self, data, member_id):
        """Merge the duplicate `member_id` of the body into this member; answers the member that stays.

        The duplicate's points move with their own expiry dates, its purchases count for this member's
        tier, lifecycle and limits, the better tier is kept, and its external id and email find this
        member. The duplicate then answers `410 member_merged`."""
        def work():
            rules = context.rules()
            now = clock.now()
            outcome = merges.merge(context.session(), rules, member_id, data["member_id"], context.actor(), now,
                                   data.get("note"))
            return member_view(context.session(), rules.program, outcome.survivor, now)

        return write(200, MemberSchema, work)


@blp.route("/<member_id>/transfers")
class MemberTransfers(MethodView):
    @requires("pos")
    @blp.arguments(TransferInSchema())
    @blp.response(201, TransferSchema)
    @blp.doc(parameters=[IDEMPOTENCY_HEADER])
    @error_responses(blp, 400, 404, 409, 413)
    def post(self, data, member_id):
        """Give points to another member, when the program allows transfers (`transfers:` in the rules).

        The points leave the lots that expire first and arrive with the same expiry dates."""
        def work():
            rules = context.rules()
            now = clock.now()
            session = context.session()
            outcome = transfers.transfer(session, rules, member_id, data["to_member_id"], data["points"],
                                         data.get("note"), context.actor(), now)
            row = outcome.transfer
            return {"id": row.id, "from_member_id": row.from_member_id, "to_member_id": row.to_member_id,
                    "points": row.points, "note": row.note, "created_at": row.created_at,
                    "from_": member_view(session, rules.program, outcome.sender, now),
                    "to": member_view(session, rules.program, outcome.receiver, now)}

        return write(201, TransferSchema, work)
