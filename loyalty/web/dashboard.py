"""The program dashboard: members by tier and stage, points per week, liability, breakage, timing."""

from datetime import UTC, date, datetime, time, timedelta

from flask import render_template, request

from loyalty import clock
from loyalty.db.replica import read_behind
from loyalty.extensions import db
from loyalty.services import reports
from loyalty.services.rules import active_rules
from loyalty.web import blp, charts
from loyalty.web.auth import admin_required

DEFAULT_WEEKS = 12
STAGE_NAMES = {"enrolled": "Enrolled", "first_purchase": "First purchase", "repeat": "Repeat",
               "advocate": "Advocate", "lapsing": "Lapsing", "lapsed": "Lapsed"}


def _figures(session, program, start, end, now) -> tuple[dict, dict]:
    weekly = {metric: reports.timeseries(session, program, metric, "week", start, end)["data"]
              for metric in ("points_issued", "points_redeemed", "points_expired", "outstanding_liability")}
    return reports.summary(session, program, start, end, now), weekly


@blp.get("/dashboard")
@admin_required
def dashboard():
    session = db.session
    program = active_rules(session).program
    now = clock.now()
    today = now.astimezone(program.timezone).date()
    last = _date(request.args.get("to")) or today
    first = _date(request.args.get("from")) or last - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1)
    if first > last:
        first, last = last, first
    start, end = _midnight(first, program), _midnight(last + timedelta(days=1), program)
    summary, weekly = read_behind(lambda reading: _figures(reading, program, start, end, now))
    weeks = [f"{point['date']:%b} {point['date'].day}" for point in weekly["points_issued"]]
    members = summary["members"]
    tiers = {tier.id: tier.name for tier in program.tiers}
    charts_ = {
        "tiers": charts.horizontal_bars("members-by-tier", "Members by tier", [
            (tiers.get(row["tier"], row["tier"]), row["members"]) for row in members["by_tier"]]),
        "funnel": charts.horizontal_bars("lifecycle-funnel", "Lifecycle funnel: members who reached each stage", [
            (STAGE_NAMES[row["stage"]], row["members"]) for row in members["funnel"]]),
        "stages": charts.horizontal_bars("members-by-stage", "Members by lifecycle stage now", [
            (STAGE_NAMES[row["stage"]], row["members"]) for row in members["by_lifecycle_stage"]]),
        "points": charts.grouped_columns("points-weekly", "Points per week", weeks, {
            "issued": [p["value"] for p in weekly["points_issued"]],
            "redeemed": [p["value"] for p in weekly["points_redeemed"]],
            "expired": [p["value"] for p in weekly["points_expired"]],
        }),
        "liability": charts.line("liability-weekly", "Outstanding liability at the end of each week", weeks,
                                 [p["value"] for p in weekly["outstanding_liability"]],
                                 charts.money(program.currency)),
    }
    return render_template("admin/dashboard.html", summary=summary, charts=charts_, first=first, last=last,
                           program=program)


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _midnight(day: date, program) -> datetime:
    return datetime.combine(day, time(), tzinfo=program.timezone).astimezone(UTC)
