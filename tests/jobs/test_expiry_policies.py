"""Expiry policies in the YAML: rolling, rounded to a period end, fixed dates, inactivity, re-dating.

The instants are New York wall-clock times written in UTC; "the end of" a
day, month, quarter or year is 00:00 New York time at the start of the next.
"""

from datetime import UTC, datetime
from textwrap import dedent
from zoneinfo import ZoneInfo

import pytest

from loyalty.engine import RulesInvalid, load_program
from tests.jobs.conftest import DEMO_YAML, utc

NEW_YORK = ZoneInfo("America/New_York")


def program_with(expiry: str):
    return load_program(dedent(f"""\
        program: {{name: P, currency: USD, timezone: America/New_York}}
        expiry: {expiry}
        rules:
          - {{id: visit, on: visit, award: {{points: 5}}}}
    """))


def expires(expiry: str, earned: str) -> datetime | None:
    return program_with(expiry).expires_at(utc(earned))


def errors_of(expiry: str) -> list[tuple[int, int, str, str]]:
    with pytest.raises(RulesInvalid) as caught:
        program_with(expiry)
    return [(e.line, e.column, e.path, e.message) for e in caught.value.errors]


def test_the_demo_policy_is_still_12_calendar_months():
    program = load_program(DEMO_YAML)
    assert program.expiry.months == 12 and not program.expiry.redate_earned
    assert program.expires_at(utc("2027-01-31T17:00:00Z")) == utc("2028-01-31T17:00:00Z")


@pytest.mark.parametrize(("expiry", "earned", "at"), [
    # rolling days and months keep the wall-clock time; 31 January + 1 month = the end of February
    ("{after: 90 days}", "2026-12-01T17:00:00Z", "2027-03-01T17:00:00Z"),
    ("{after: 1 month}", "2027-01-31T17:00:00Z", "2027-02-28T17:00:00Z"),
    ("{after: 1 month}", "2028-01-31T17:00:00Z", "2028-02-29T17:00:00Z"),
    ("{after: 2 years}", "2026-03-10T14:00:00Z", "2028-03-10T15:00:00Z"),
    # rounded up to the end of the month, quarter or year the rolling date falls in
    ("{after: 12 months, end_of: month}", "2026-03-10T14:00:00Z", "2027-04-01T04:00:00Z"),
    ("{after: 12 months, end_of: quarter}", "2026-03-10T14:00:00Z", "2027-04-01T04:00:00Z"),
    ("{after: 12 months, end_of: quarter}", "2026-04-01T14:00:00Z", "2027-07-01T04:00:00Z"),
    ("{after: 12 months, end_of: year}", "2026-03-10T14:00:00Z", "2028-01-01T05:00:00Z"),
    ("{end_of: year}", "2026-12-31T23:00:00Z", "2027-01-01T05:00:00Z"),   # 18:00 on 31 Dec in New York
    ("{end_of: year}", "2027-01-01T04:00:00Z", "2027-01-01T05:00:00Z"),   # 23:00 on 31 Dec in New York
    # a day every year: the next one (the same day counts), or the first at least `after` later
    ("{on: 12-31}", "2026-03-10T14:00:00Z", "2027-01-01T05:00:00Z"),
    ("{on: 12-31}", "2026-12-31T14:00:00Z", "2027-01-01T05:00:00Z"),
    ("{on: 06-30, after: 6 months}", "2026-03-10T14:00:00Z", "2027-07-01T04:00:00Z"),
    ("{on: 06-30, after: 6 months}", "2025-12-20T14:00:00Z", "2026-07-01T04:00:00Z"),
    # one fixed day for everything
    ("{on: 2027-06-30}", "2026-03-10T14:00:00Z", "2027-07-01T04:00:00Z"),
])
def test_policies(expiry, earned, at):
    assert expires(expiry, earned) == utc(at)


def test_never_and_inactivity_only_leave_lots_undated():
    assert expires("{after: never}", "2026-03-10T14:00:00Z") is None
    program = program_with("{inactive_after: 180 days}")
    assert program.expires_at(utc("2026-03-10T14:00:00Z")) is None
    assert program.expiry.inactive_after.days == 180
    both = program_with("{after: 24 months, inactive_after: 12 months, redate_earned: true}")
    assert (both.expiry.months, both.expiry.inactive_after.months, both.expiry.redate_earned) == (24, 12, True)


def test_a_rule_can_round_its_own_expiry():
    program = load_program(dedent("""\
        program: {name: P, currency: USD, timezone: America/New_York}
        expiry: {after: 12 months}
        rules:
          - {id: visit, on: visit, award: {points: 5}, expires: {after: 30 days, end_of: month}}
    """))
    assert program.expires_at(utc("2026-03-10T14:00:00Z"), "visit") == utc("2026-05-01T04:00:00Z")


@pytest.mark.parametrize(("expiry", "error"), [
    ("{after: 12 moths}", (2, 17, "expiry.after",
                           "'12 moths' is not a duration; write it like '12 months' or '30 days' (or 'never')")),
    ("{after: 12 months, end_of: week}", (2, 36, "expiry.end_of",
                                          "unknown value 'week' (expected one of: month, quarter, year)")),
    ("{on: 02-29}", (2, 14, "expiry.on", "29 February is not in every year; use 02-28 or end_of: month")),
    ("{on: 13-01}", (2, 14, "expiry.on", "'13-01' is not a day of the year; write it like 12-31")),
    ("{on: 2027-06-30, after: 6 months}", (2, 14, "expiry.on",
                                           "a fixed date (2027-06-30) is the same for every lot; remove "
                                           "'after', or write the day as MM-DD")),
    ("{end_of: month, on: 12-31}", (2, 29, "expiry.on", "give 'end_of' or 'on', not both")),
    ("{after: never, end_of: year}", (2, 17, "expiry.after", "'never' cannot be combined with 'end_of' or 'on'")),
    ("{inactive_after: never}", (2, 26, "expiry.inactive_after",
                                 "'never' is not a duration; write it like '12 months' or '30 days'")),
    ("{redate_earned: yes please}", (2, 9, "expiry",
                                     "say when points expire: 'after', 'end_of', 'on' or 'inactive_after'")),
    ("{until: 12-31}", (2, 10, "expiry", "unknown key 'until' (expected one of: after, end_of, inactive_after, "
                                         "on, redate_earned)")),
])
def test_mistakes_point_at_line_and_column(expiry, error):
    assert error in errors_of(expiry)


def test_inactivity_and_redating_belong_to_the_program_not_a_rule():
    with pytest.raises(RulesInvalid) as caught:
        load_program(dedent("""\
            program: {name: P, currency: USD, timezone: America/New_York}
            rules:
              - {id: visit, on: visit, award: {points: 5}, expires: {inactive_after: 30 days}}
        """))
    [error] = caught.value.errors
    assert (error.line, error.path) == (3, "rules[0].expires.inactive_after")
    assert "program's expiry section" in error.message


def test_end_of_day_is_midnight_new_york_time_in_summer_and_winter():
    summer = expires("{end_of: month}", "2026-07-15T14:00:00Z")
    winter = expires("{end_of: month}", "2026-12-15T14:00:00Z")
    assert summer.astimezone(NEW_YORK).timetuple()[:5] == (2026, 8, 1, 0, 0)
    assert winter.astimezone(NEW_YORK).timetuple()[:5] == (2027, 1, 1, 0, 0)
    assert summer.tzinfo == winter.tzinfo == UTC
