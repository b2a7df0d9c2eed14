"""Members: enrol, look up, change, suspend."""

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loyalty import clock
from loyalty.api import context
from loyalty.api.docs import error_responses
from loyalty.api.idempotent import write
from loyalty.api.schemas import MemberPageSchema, MemberSchema, PageQuerySchema, StrictSchema
from loyalty.http.auth import requires
from loyalty.services import members
from loyalty.services.member_view import member_view

blp = Blueprint("members", __name__, url_prefix="/v1/members", description="Members of the program")

CHANNELS = ("pos", "web", "api", "import")


class ContactFields(StrictSchema):
    email = ma.fields.Email(allow_none=True, validate=validate.Length(max=320))
    phone = ma.fields.String(allow_none=True, validate=validate.Length(min=3, max=32))
    first_name = ma.fields.String(allow_none=True, validate=validate.Length(max=100))
    last_name = ma.fields.String(allow_none=True, validate=validate.Length(max=100))
    birthday = ma.fields.Date(allow_none=True)
    email_opt_in = ma.fields.Boolean()
    stripe_customer_id = ma.fields.String(allow_none=True, validate=validate.Length(max=255))


class EnrollSchema(ContactFields):
    external_id = ma.fields.String(required=True, validate=validate.Length(min=1, max=255))
    referred_by = ma.fields.String(allow_none=True, validate=validate.Length(min=1, max=16))
    channel = ma.fields.String(allow_none=True, validate=validate.OneOf(CHANNELS))


class MemberPatchSchema(ContactFields):
    status = ma.fields.String(validate=validate.OneOf(("active", "suspended")))


class MemberQuerySchema(PageQuerySchema):
    external_id = ma.fields.String()
    email = ma.fields.String()
    phone = ma.fields.String()


@blp.route("")
class MemberCollection(MethodView):
    @requires("pos")
    @blp.arguments(EnrollSchema())
    @blp.response(201, MemberSchema)
    @blp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "required": False,
                          "schema": {"type": "string", "maxLength": 255}}])
    @error_responses(blp, 400, 409, 413)
    def post(self, data):
        """Enrol a member (fires `enrolled`, and `email_signup` on opt-in)."""
        def work():
            rules = context.rules()
            now = clock.now()
            member = members.enroll(context.session(), rules, members.Enrolment(**data),
                                    context.actor(), now)
            return member_view(context.session(), rules.program, member, now)

        return write(201, MemberSchema, work, key_required=False)

    @requires("pos")
    @blp.arguments(MemberQuerySchema(), location="query")
    @blp.response(200, MemberPageSchema)
    @error_responses(blp, 400)
    def get(self, query):
        """Find members by external_id, email or phone (all given must match)."""
        views, next_cursor = members.find_views(context.session(), context.rules().program, clock.now(), **query)
        return {"data": views, "next_cursor": next_cursor}


@blp.route("/<member_id>")
class MemberItem(MethodView):
    @requires("pos")
    @blp.response(200, MemberSchema)
    @error_responses(blp, 404, 410)
    def get(self, member_id):
        """One member, with balance, tier and lifecycle stage."""
        return members.get_view(context.session(), context.rules().program, member_id, clock.now())

    @requires("pos")
    @blp.arguments(MemberPatchSchema())
    @blp.response(200, MemberSchema)
    @error_responses(blp, 404, 409, 410, 413)
    def patch(self, changes, member_id):
        """Change contact details, opt-in or status (`active` | `suspended`)."""

        def work():
            rules = context.rules()
            now = clock.now()
            member = members.update(context.session(), rules, member_id, changes, context.actor(), now)
            return member_view(context.session(), rules.program, member, now)

        return write(200, MemberSchema, work, key_required=False)
