"""Expiry, pending points and lifecycle stages, on the New York calendar."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from textwrap import dedent

import pytest

from loyalty.engine import (
    EventFacts,
    MemberFacts,
    evaluate,
    lifecycle_stage,
    load_program,
)
from loyalty.engine.periods import period_key

DEMO_TEXT = (Path(__file__).resolve().parents[2] / "rules" / "program.yaml").read_text()
PROGRAM = load_program(DEMO_TEXT)


def utc(text):
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("occurred", "expires"),
    [
        ("2026-11-23T14:05:00+00:00", "2027-11-23T14:05:00+00:00"),
        ("2026-01-31T17:00:00+00:00", "2027-01-31T17:00:00+00:00"),
        # 29 February + 12 months has no 29th: the end of February
        ("2028-02-29T17:00:00+00:00", "2029-02-28T17:00:00+00:00"),
        # 22:00 on 29 February in New York is 1 March in UTC; the New York date counts
        ("2028-03-01T03:00:00+00:00", "2029-03-01T03:00:00+00:00"),
        # 10:00 EDT on 10 March 2026; DST starts later in 2027, so 10:00 EST is 15:00 UTC
        ("2026-03-10T14:00:00+00:00", "2027-03-10T15:00:00+00:00"),
    ],
)
def test_points_expire_12_calendar_months_later_on_the_new_york_clock(occurred, expires):
    assert PROGRAM.expires_at(utc(occurred)) == utc(expires)
    event = EventFacts("purchase", utc(occurred), amount=1000)
    award = evaluate(PROGRAM, event, MemberFacts("mem_1", "member")).awards[0]
    assert award.expires_at == utc(expires)
    assert PROGRAM.expires_at(utc(occurred), "spend") == utc(expires)


MONTHLY = load_program(
    dedent("""\
    program: {name: Monthly, currency: USD, timezone: America/New_York}
    rules:
      - {id: visit, on: visit, award: {points: 5}, expires: {after: 1 month}}
""")
)


@pytest.mark.parametrize(
    ("occurred", "expires"),
    [
        # 31 January + 1 month = the end of February: 28th in 2027, 29th in leap 2028
        ("2027-01-31T17:00:00+00:00", "2027-02-28T17:00:00+00:00"),
        ("2028-01-31T17:00:00+00:00", "2028-02-29T17:00:00+00:00"),
        # 22:00 on 31 January in New York → 22:00 on 28 February in New York
        ("2027-02-01T03:00:00+00:00", "2027-03-01T03:00:00+00:00"),
        # 23:00 on 30 January in New York → 23:00 on 28 February (UTC arithmetic would say 28 Feb 04:00Z)
        ("2027-01-31T04:00:00+00:00", "2027-03-01T04:00:00+00:00"),
    ],
)
def test_month_ends_clamp_31_january_to_the_end_of_february(occurred, expires):
    assert MONTHLY.expires_at(utc(occurred), "visit") == utc(expires)
    [award] = evaluate(
        MONTHLY, EventFacts("visit", utc(occurred)), MemberFacts("mem_1", "member")
    ).awards
    assert award.expires_at == utc(expires)
    assert MONTHLY.expires_at(utc(occurred)) is None  # the program itself sets no expiry


def test_a_rule_may_expire_sooner_and_keep_points_pending():
    program = load_program(
        dedent("""\
        program: {name: Slow, currency: USD, timezone: America/New_York}
        expiry: {after: 12 months}
        rules:
          - id: review
            on: review
            award: {points: 25}
            pending_days: 14
            expires: {after: 30 days}
    """)
    )
    occurred = utc("2026-10-25T14:00:00+00:00")  # 10:00 EDT; DST ends on 1 November
    [award] = evaluate(
        program, EventFacts("review", occurred), MemberFacts("mem_1", "member")
    ).awards
    assert (award.status, award.points) == ("pending", 25)
    assert award.available_at == utc("2026-11-08T15:00:00+00:00")  # 10:00 EST, 14 days later
    assert award.expires_at == utc("2026-11-24T15:00:00+00:00")
    assert program.expires_at(occurred) == utc("2027-10-25T14:00:00+00:00")


def test_period_keys():
    moment = datetime(2026, 12, 31, 22, 0)
    assert [
        period_key(p, moment) for p in ("member", "day", "week", "calendar_month", "calendar_year")
    ] == ["ever", "2026-12-31", "2026-W53", "2026-12", "2026"]


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        evaluate(
            PROGRAM, EventFacts("review", datetime(2026, 1, 1)), MemberFacts("mem_1", "member")
        )


NOW = utc("2026-06-30T16:00:00+00:00")  # noon in New York


def days_ago(days, hour_utc=16):
    return NOW.replace(hour=hour_utc) - timedelta(days=days)


@pytest.mark.parametrize(
    ("count", "last", "referrals", "stage"),
    [
        (0, None, 0, "enrolled"),
        (1, days_ago(0), 0, "first_purchase"),
        (1, days_ago(90), 0, "first_purchase"),
        (1, days_ago(91), 0, "lapsing"),
        (2, days_ago(90), 0, "repeat"),
        (2, days_ago(91), 0, "lapsing"),
        (5, days_ago(10), 1, "advocate"),
        (5, days_ago(91), 3, "lapsing"),
        (2, days_ago(180), 0, "lapsing"),
        (2, days_ago(181), 0, "lapsed"),
        (1, days_ago(400), 0, "lapsed"),
    ],
)
def test_lifecycle_stages_at_their_edges(count, last, referrals, stage):
    assert lifecycle_stage(PROGRAM, count, last, referrals, NOW) == stage


def test_lifecycle_days_are_new_york_days():
    # 23:30 on 1 April in New York is 2 April in UTC: 90 New York days before 30 June
    last = utc("2026-04-02T03:30:00+00:00")
    assert lifecycle_stage(PROGRAM, 2, last, 0, NOW) == "repeat"
    assert lifecycle_stage(PROGRAM, 2, last - timedelta(hours=1), 0, NOW) == "repeat"
    assert lifecycle_stage(PROGRAM, 2, last - timedelta(days=1), 0, NOW) == "lapsing"


def test_lifecycle_thresholds_come_from_the_program():
    text = DEMO_TEXT.replace("repeat_within_days: 90", "repeat_within_days: 30")
    assert lifecycle_stage(load_program(text), 2, days_ago(31), 0, NOW) == "lapsing"
