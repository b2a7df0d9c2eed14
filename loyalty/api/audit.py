"""GET /v1/audit: every publish, rollback, adjustment, key created or revoked and erasure, newest first."""

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loyalty.api import context
from loyalty.api.docs import error_responses
from loyalty.api.fields import Timestamp
from loyalty.api.schemas import PageQuerySchema, page_schema
from loyalty.http.auth import requires
from loyalty.services import audit

blp = Blueprint("audit", __name__, url_prefix="/v1/audit", description="The audit log (admin; never editable)")


class AuditRecordSchema(ma.Schema):
    id = ma.fields.String()
    at = Timestamp()
    actor = ma.fields.String(allow_none=True, metadata={"description": "The API key, or cli."})
    action = ma.fields.String(metadata={"enum": list(audit.ACTIONS)})
    target = ma.fields.String(metadata={"description": "What it was done to: rules version 3, a member id, a "
                                                       "key's name."})
    note = ma.fields.String(allow_none=True, metadata={"description": "The publish note, the adjustment's reason."})
    details = ma.fields.Dict(allow_none=True)


AuditPageSchema = page_schema(AuditRecordSchema, "AuditPageSchema")


class AuditQuerySchema(PageQuerySchema):
    action = ma.fields.String(validate=validate.OneOf(audit.ACTIONS))


@blp.route("")
class AuditLog(MethodView):
    @requires("admin")
    @blp.arguments(AuditQuerySchema(), location="query")
    @blp.response(200, AuditPageSchema)
    @error_responses(blp)
    def get(self, query):
        """The audit log, newest first; ?action= for one kind."""
        rows, next_cursor = audit.entries(context.session(), query["limit"], query["cursor"], query.get("action"))
        return {"data": rows, "next_cursor": next_cursor}
