from flask import Blueprint, jsonify
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
