"""Reports for operators: the program's members, points, liability and timing."""

from datetime import timedelta

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loyalty import clock
from loyalty.api import context
from loyalty.api.docs import error_responses
from loyalty.api.fields import Timestamp
from loyalty.db.replica import read_behind
from loyalty.http.auth import requires
from loyalty.services import reports

blp = Blueprint("reports", __name__, url_prefix="/v1/reports", description="Program reports (admin)")

DEFAULT_WINDOW = timedelta(days=90)
METRIC_HELP = "; ".join(f"{name} ({metric.unit}): {metric.description}" for name, metric in reports.METRICS.items())


class WindowQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    start = Timestamp(data_key="from", load_default=None,
                      metadata={"description": "start, inclusive (default: 90 days before `to`)"})
    end = Timestamp(data_key="to", load_default=None, metadata={"description": "end, exclusive (default: now)"})

    @ma.post_load
    def fill(self, data, **kwargs):
        data["end"] = data["end"] or clock.now()
        data["start"] = data["start"] or data["end"] - DEFAULT_WINDOW
        return data


class TimeseriesQuerySchema(WindowQuerySchema):
    metric = ma.fields.String(required=True, validate=validate.OneOf(list(reports.METRICS)),
                              metadata={"description": METRIC_HELP})
    interval = ma.fields.String(load_default="week", validate=validate.OneOf(reports.INTERVALS),
                                metadata={"description": "calendar buckets in the program's timezone; "
                                                         "weeks start on Monday"})


class CountByTierSchema(ma.Schema):
    tier = ma.fields.String()
    members = ma.fields.Integer()


class CountByStageSchema(ma.Schema):
    stage = ma.fields.String()
    members = ma.fields.Integer()


class MembersReportSchema(ma.Schema):
    total = ma.fields.Integer(metadata={"description": "members not erased, now"})
    enrolled_in_window = ma.fields.Integer()
    by_tier = ma.fields.List(ma.fields.Nested(CountByTierSchema))
    by_lifecycle_stage = ma.fields.List(ma.fields.Nested(CountByStageSchema),
                                        metadata={"description": "each member's stage now"})
    funnel = ma.fields.List(ma.fields.Nested(CountByStageSchema), metadata={
        "description": "members who ever reached enrolled → first purchase → repeat → advocate"})


class PointsFlowSchema(ma.Schema):
    issued = ma.fields.Integer()
    redeemed = ma.fields.Integer()
    voided = ma.fields.Integer(metadata={"description": "given back by voided redemptions"})
    expired = ma.fields.Integer()
    reversed = ma.fields.Integer()
    adjusted = ma.fields.Integer(metadata={"description": "signed"})


class ExpiringPointsSchema(ma.Schema):
    within_days = ma.fields.Integer()
    points = ma.fields.Integer()


class SummarySchema(ma.Schema):
    start = Timestamp(data_key="from", attribute="from")
    end = Timestamp(data_key="to", attribute="to")
    currency = ma.fields.String()
    point_value = ma.fields.Integer(metadata={"description": "liability per point, in minor units"})
    members = ma.fields.Nested(MembersReportSchema)
    points = ma.fields.Nested(PointsFlowSchema, metadata={"description": "ledger entries in the window"})
    outstanding_points = ma.fields.Integer(metadata={"description": "Σ balances at `to`"})
    outstanding_liability = ma.fields.Integer(metadata={"description": "in minor units of `currency`"})
    pending_points = ma.fields.Integer(metadata={"description": "earned, not yet spendable (now)"})
    expiring = ma.fields.List(ma.fields.Nested(ExpiringPointsSchema),
                              metadata={"description": "points expiring in the next 30 / 60 / 90 days"})
    breakage = ma.fields.Float(allow_none=True, metadata={
        "description": "expired ÷ issued, over everything up to `to` (null before any issue)"})
    redemption_rate = ma.fields.Float(allow_none=True, metadata={
        "description": "(redeemed − voided) ÷ issued, over everything up to `to`"})
    average_days_to_first_purchase = ma.fields.Float(allow_none=True, metadata={
        "description": "enrolment → first purchase, members whose first purchase is in the window"})
    average_days_first_to_second_purchase = ma.fields.Float(allow_none=True, metadata={
        "description": "first → second purchase, members whose second purchase is in the window"})


class PointSchema(ma.Schema):
    date = ma.fields.Date(metadata={"description": "the bucket's first day, in the program's timezone"})
    start = Timestamp()
    value = ma.fields.Integer()


class TimeseriesSchema(ma.Schema):
    metric = ma.fields.String()
    interval = ma.fields.String()
    unit = ma.fields.String(metadata={"description": "points, minor_units, members or events"})
    start = Timestamp(data_key="from", attribute="from")
    end = Timestamp(data_key="to", attribute="to")
    timezone = ma.fields.String()
    currency = ma.fields.String()
    data = ma.fields.List(ma.fields.Nested(PointSchema))


@blp.route("/summary")
class Summary(MethodView):
    @requires("admin")
    @error_responses(blp)
    @blp.arguments(WindowQuerySchema(), location="query", unknown=ma.RAISE)
    @blp.response(200, SummarySchema)
    def get(self, query):
        """Members by tier and stage, points flows in [from, to), liability, breakage, timing."""
        program, now = context.rules().program, clock.now()
        return read_behind(lambda session: reports.summary(session, program, query["start"], query["end"], now))


@blp.route("/timeseries")
class Timeseries(MethodView):
    @requires("admin")
    @error_responses(blp)
    @blp.arguments(TimeseriesQuerySchema(), location="query", unknown=ma.RAISE)
    @blp.response(200, TimeseriesSchema)
    def get(self, query):
        """One metric per day, week or month of [from, to), in the program's timezone."""
        program = context.rules().program
        return read_behind(lambda session: reports.timeseries(session, program, query["metric"],
                                                              query["interval"], query["start"], query["end"]))
