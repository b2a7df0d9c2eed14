"""Reports: known events at known times, figures checked by hand, buckets in New York time."""

import pytest
from freezegun import freeze_time

from loyalty import ledger
from loyalty.db.transactions import lock_members, write_transaction
from loyalty.extensions import db

COFFEE = [{"sku": "latte-l", "category": "coffee", "quantity": 2, "unit_amount": 450}]
WINDOW = {"from": "2026-11-02T05:00:00Z", "to": "2026-11-16T05:00:00Z"}  # two New York weeks, Mon–Mon


def expire(app, member_id: str, points: int) -> None:
    """What the expiry job posts; the job itself is someone else's, the entry is the ledger's."""
    from loyalty import clock

    with app.app_context():
        with write_transaction(db.session()) as session:
            member = lock_members(session, [member_id])[member_id]
            ledger.debit(session, member, points, "expire", ledger.Posting(now=clock.now(), reason="expired"),
                         allow_negative=False)
        db.session.remove()


@pytest.fixture
def story(app, api, admin_api):
    """Ann: enrols (150), buys $12.50 with coffee (21) and $200 (200), refunds $100 (−100), takes a free
    drink (−150). Ben enrols late on Sunday 8 November, New York time (50), loses 20 to an adjustment
    and 10 to expiry."""
    with freeze_time("2026-11-02T15:00:00Z"):
        ann = api.enroll(external_id="ann", email="ann@example.com", email_opt_in=True)["id"]
    with freeze_time("2026-11-03T14:00:00Z"):
        api.purchase(ann, 1250, items=COFFEE)
    with freeze_time("2026-11-09T04:30:00Z"):  # 23:30 on Sunday in New York
        ben = api.enroll(external_id="ben")["id"]
    with freeze_time("2026-11-10T15:00:00Z"):
        big = api.purchase(ann, 20000)["event"]["id"]
    with freeze_time("2026-11-11T15:00:00Z"):
        assert api.post(f"/v1/events/{big}/refunds", {"amount": 10000}).status_code == 201
    with freeze_time("2026-11-12T15:00:00Z"):
        response = api.post(f"/v1/members/{ann}/redemptions", {"reward_id": "free-drink"})
        assert response.status_code == 201, response.get_json()
    with freeze_time("2026-11-13T15:00:00Z"):
        response = admin_api.post(f"/v1/members/{ben}/adjustments", {"points": -20, "reason": "correction"})
        assert response.status_code == 201, response.get_json()
        expire(app, ben, 10)
    return {"ann": ann, "ben": ben}


def summary(admin_api, now="2026-11-20T12:00:00Z", **window):
    with freeze_time(now):
        response = admin_api.get("/v1/reports/summary", query_string=window or WINDOW)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def series(admin_api, metric, interval="week", **window):
    with freeze_time("2026-11-20T12:00:00Z"):
        response = admin_api.get("/v1/reports/timeseries",
                                 query_string={"metric": metric, "interval": interval, **(window or WINDOW)})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_summary_adds_up_the_window(story, admin_api, db_backend):
    body = summary(admin_api)
    assert body["points"] == {"issued": 421, "redeemed": 150, "voided": 0, "expired": 10, "reversed": 100,
                              "adjusted": -20}
    assert body["outstanding_points"] == 421 - 150 - 10 - 100 - 20 == 141
    assert body["outstanding_liability"] == 141 and body["currency"] == "USD"
    assert body["breakage"] == round(10 / 421, 4)
    assert body["redemption_rate"] == round(150 / 421, 4)
    assert body["average_days_to_first_purchase"] == round(23 / 24, 1)  # Nov 2 15:00 → Nov 3 14:00
    assert body["average_days_first_to_second_purchase"] == round(7 + 1 / 24, 1)
    members = body["members"]
    assert members["total"] == 2 and members["enrolled_in_window"] == 2
    assert members["by_tier"] == [{"tier": "member", "members": 2}, {"tier": "silver", "members": 0},
                                  {"tier": "gold", "members": 0}]
    stages = {row["stage"]: row["members"] for row in members["by_lifecycle_stage"]}
    assert stages == {"enrolled": 1, "first_purchase": 0, "repeat": 1, "advocate": 0, "lapsing": 0, "lapsed": 0}
    assert [row["members"] for row in members["funnel"]] == [2, 1, 1, 0]


def test_a_window_counts_only_what_happened_in_it(story, admin_api):
    body = summary(admin_api, **{"from": "2026-11-09T05:00:00Z", "to": "2026-11-16T05:00:00Z"})
    assert body["points"]["issued"] == 200  # Ben's 50 fell on Sunday night, the week before
    assert body["members"]["enrolled_in_window"] == 0
    assert body["average_days_to_first_purchase"] is None
    assert body["outstanding_points"] == 141


def test_stages_and_expiring_points_are_worked_out_as_of_now(story, admin_api, db_backend):
    later = summary(admin_api, now="2027-10-06T12:00:00Z")
    stages = {row["stage"]: row["members"] for row in later["members"]["by_lifecycle_stage"]}
    assert stages["lapsed"] == 1 and stages["enrolled"] == 1  # Ann's last purchase was 330 days ago
    # Ann's lots left: 21 from 3 Nov, 100 from 10 Nov; Ben's: 20 from 8 Nov (NY); expiry 12 months later.
    assert later["expiring"] == [{"within_days": 30, "points": 21}, {"within_days": 60, "points": 141},
                                 {"within_days": 90, "points": 141}]


def test_weekly_points_fall_into_new_york_weeks(story, admin_api, db_backend):
    issued = series(admin_api, "points_issued")
    assert issued["unit"] == "points" and issued["timezone"] == "America/New_York"
    assert [(p["date"], p["value"]) for p in issued["data"]] == [("2026-11-02", 221), ("2026-11-09", 200)]
    assert issued["data"][0]["start"] == "2026-11-02T05:00:00Z"
    assert [p["value"] for p in series(admin_api, "points_redeemed")["data"]] == [0, 150]
    assert [p["value"] for p in series(admin_api, "points_reversed")["data"]] == [0, 100]
    assert [p["value"] for p in series(admin_api, "points_expired")["data"]] == [0, 10]
    assert [p["value"] for p in series(admin_api, "points_adjusted")["data"]] == [0, -20]
    assert [p["value"] for p in series(admin_api, "members_enrolled")["data"]] == [2, 0]
    assert [p["value"] for p in series(admin_api, "first_purchases")["data"]] == [1, 0]
    assert [p["value"] for p in series(admin_api, "purchases")["data"]] == [1, 1]


def test_daily_buckets_and_a_running_liability(story, admin_api, db_backend):
    daily = series(admin_api, "points_issued", "day")
    assert len(daily["data"]) == 14
    by_day = {p["date"]: p["value"] for p in daily["data"] if p["value"]}
    assert by_day == {"2026-11-02": 150, "2026-11-03": 21, "2026-11-08": 50, "2026-11-10": 200}
    outstanding = series(admin_api, "outstanding_points")
    assert [p["value"] for p in outstanding["data"]] == [221, 141]
    liability = series(admin_api, "outstanding_liability", "month",
                       **{"from": "2026-10-01T04:00:00Z", "to": "2027-01-01T05:00:00Z"})
    assert [(p["date"], p["value"]) for p in liability["data"]] == [
        ("2026-10-01", 0), ("2026-11-01", 141), ("2026-12-01", 141)]
    assert liability["unit"] == "minor_units"


def test_a_window_that_starts_with_points_outstanding(story, admin_api):
    body = series(admin_api, "outstanding_points", "day",
                  **{"from": "2026-11-12T05:00:00Z", "to": "2026-11-14T05:00:00Z"})
    assert [p["value"] for p in body["data"]] == [421 - 100 - 150, 421 - 100 - 150 - 30]


@pytest.mark.parametrize("query, field", [
    ({"metric": "points_issued", "interval": "hour"}, "interval"),
    ({"metric": "smiles"}, "metric"),
    ({"interval": "day"}, "metric"),
    ({"metric": "points_issued", "from": "2026-11-10T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "to"),
    ({"metric": "points_issued", "interval": "day", "from": "2020-01-01T00:00:00Z",
      "to": "2026-01-01T00:00:00Z"}, "interval"),
    ({"metric": "points_issued", "from": "yesterday"}, "from"),
    ({"metric": "points_issued", "colour": "green"}, "colour"),
])
def test_bad_report_queries_are_validation_errors(admin_api, query, field):
    response = admin_api.get("/v1/reports/timeseries", query_string=query)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and field in error["details"]["fields"], error


def test_reports_need_an_admin_key(api):
    assert api.get("/v1/reports/summary").status_code == 403
    assert api.get("/v1/reports/timeseries?metric=points_issued").status_code == 403


def test_reports_are_in_the_openapi_document(admin_api):
    spec = admin_api.client.get("/openapi.json").get_json()
    assert "/v1/reports/summary" in spec["paths"] and "/v1/rules/backtest" in spec["paths"]
    params = {p["name"]: p for p in spec["paths"]["/v1/reports/timeseries"]["get"]["parameters"]}
    assert "outstanding_liability" in params["metric"]["schema"]["enum"]
    assert params["interval"]["schema"]["enum"] == ["day", "week", "month"]


def test_empty_program_reports_zeroes(admin_api):
    body = summary(admin_api)
    assert body["points"]["issued"] == 0 and body["breakage"] is None and body["redemption_rate"] is None
    assert body["members"]["total"] == 0
