"""GET /metrics: Prometheus text, optionally behind a bearer token (METRICS_TOKEN)."""

import hmac

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.exc import SQLAlchemyError

from loyalty import clock
from loyalty.api.schemas import ErrorSchema
from loyalty.errors import Unauthorized
from loyalty.extensions import db
from loyalty.http.auth import bearer_token
from loyalty.observability import metrics
from loyalty.outbox.delivery import backlog

blp = Blueprint("metrics", __name__, description="Operations")

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def _read_backlog():
    try:
        return backlog(db.session(), clock.now())
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("metrics: webhook backlog unavailable (database error)")
        return None


@blp.route("/metrics")
class Metrics(MethodView):
    @blp.doc(security=[], responses={"200": {
        "description": "Prometheus text exposition format",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }})
    @blp.alt_response(401, schema=ErrorSchema, description="unauthorized: METRICS_TOKEN is set and was not given")
    def get(self):
        """Request counts and latencies by route, points issued/redeemed/expired, job durations, webhook backlog."""
        token = current_app.config.get("METRICS_TOKEN")
        if token and not hmac.compare_digest((bearer_token() or "").encode(), token.encode()):
            raise Unauthorized("This needs the metrics token: Authorization: Bearer <METRICS_TOKEN>.")
        return Response(metrics.exposition(_read_backlog), mimetype=PROMETHEUS_TEXT)
