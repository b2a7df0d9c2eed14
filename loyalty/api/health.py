import swagger_ui_bundle
from flask import Blueprint, jsonify, send_from_directory
from sqlalchemy import text

from loyalty.errors import ServiceUnavailable
from loyalty.extensions import db

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    """Up if the database answers."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:
        db.session.rollback()
        raise ServiceUnavailable("The database is unreachable.") from exc
    return jsonify({"status": "ok"})


@blp.get("/docs/assets/<path:filename>")
def docs_assets(filename):
    """Swagger UI's files, shipped with the service so /docs works offline."""
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)
