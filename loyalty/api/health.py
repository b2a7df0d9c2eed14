"""Liveness for load balancers, and the offline assets of /docs."""

import marshmallow as ma
import swagger_ui_bundle
from flask import Blueprint, send_from_directory
from flask.views import MethodView
from flask_smorest import Blueprint as ApiBlueprint
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from loyalty.api.schemas import ErrorSchema
from loyalty.errors import ServiceUnavailable
from loyalty.extensions import db

blp = ApiBlueprint("health", __name__, description="Operations")
assets = Blueprint("docs_assets", __name__)


class HealthSchema(ma.Schema):
    status = ma.fields.String()


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=ErrorSchema, description="unavailable: the database does not answer")
    @blp.doc(security=[])
    def get(self):
        """Up if the database answers; needs no key."""
        try:
            db.session.execute(text("SELECT 1"))
        except OperationalError as exc:
            db.session.rollback()
            raise ServiceUnavailable("The database is unreachable.") from exc
        return {"status": "ok"}


@assets.get("/docs/assets/<path:filename>")
def docs_assets(filename):
    """Swagger UI's files, shipped with the service so /docs works offline."""
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)
