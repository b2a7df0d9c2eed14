"""Streaks in the YAML (checked with file:line:column errors) and in the pure engine, on explicit dates."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from loyalty.engine import EventFacts, Item, MemberFacts, RulesInvalid, evaluate, load_program
from loyalty.engine.reasons import words as render
from loyalty.engine.streaks import StreakState, advance_streak, ends_after, standing

DEMO_TEXT = (Path(__file__).resolve().parents[2] / "rules" / "program.yaml").read_text()
STREAKS = """badges:
  - id: regular
    name: Regular
streaks:
  - id: weekly-regular
    name: Weekly regular
    description: A purchase every week, three weeks in a row
    where: {category: coffee}
    period: week
    length: 3
    grace: 1
    award: {points: 50}
    repeat: true
  - id: daily-habit
    name: Daily habit
    period: day
    length: 2
    award: {badge: regular}
  - id: monthly-reviewer
    name: Monthly reviewer
    on: review
    period: calendar_month
    length: 3
    award: {points: 20}

"""
TEXT = DEMO_TEXT.replace("# Earning rules.", STREAKS + "# Earning rules.", 1)
PROGRAM = load_program(TEXT)
WEEKLY, DAILY, MONTHLY = PROGRAM.streaks


def purchase(category="coffee", amount=450):
    return EventFacts("purchase", datetime(2026, 11, 23, 17, tzinfo=UTC), amount=amount, currency="USD",
                      items=(Item(f"{category}-1", category, 1, amount),))


REVIEW = EventFacts("review", datetime(2026, 11, 23, 17, tzinfo=UTC))


def errors_of(text):
    with pytest.raises(RulesInvalid) as caught:
        load_program(text)
    return [(e["line"], e["column"], e["path"], e["message"]) for e in (x.as_dict() for x in caught.value.errors)]


def run(streak, days, event=None, state=None):
    """The state after an event on each day, with each event's reason code."""
    codes, state = [], state or StreakState()
    for day in days:
        step, code, _args = advance_streak(streak, state, event or purchase(), day)
        codes.append(code)
        state = step.after if step else state
    return state, codes


def test_streaks_load_and_the_catalog_offers_them():
    assert (WEEKLY.period, WEEKLY.length, WEEKLY.grace, WEEKLY.points, WEEKLY.repeat, WEEKLY.categories) == (
        "week", 3, 1, 50, True, frozenset({"coffee"}))
    assert (DAILY.on, DAILY.min_amount, DAILY.grace, DAILY.badge_id, DAILY.repeat) == (
        "purchase", 1, 0, "regular", False)
    assert MONTHLY.on == "review" and "review" in PROGRAM.actions
    catalog = PROGRAM.catalog()
    assert [s["id"] for s in catalog["streaks"]] == ["weekly-regular", "daily-habit", "monthly-reviewer"]
    assert catalog["streak_keys"]["period"] == ["day", "week", "calendar_month"]


@pytest.mark.parametrize(("old", "new", "at", "path", "message"), [
    ("award: {badge: regular}", "award: {badge: regulars}", "regulars", "streaks[1].award.badge",
     "unknown badge 'regulars' — did you mean 'regular'?"),
    ("period: week", "period: fortnight", "fortnight", "streaks[0].period",
     "unknown value 'fortnight' (expected one of: calendar_month, day, week)"),
    ("length: 2", "length: 1", "1", "streaks[1].length", "must be at least 2 (got 1)"),
    ("grace: 1", "grace: -1", "-1", "streaks[0].grace", "must not be negative (got -1)"),
    ("award: {points: 20}", "award: {points: 20, badge: regular}", "{points", "streaks[2].award",
     "give exactly one of 'points' or 'badge'"),
    ("    on: review\n", "    on: review\n    where: {category: coffee}\n", "{category", "streaks[2].where",
     "'where' is for purchases; this streak is on 'review'"),
    ("id: daily-habit", "id: weekly-regular", "weekly-regular", "streaks[1].id",
     "id 'weekly-regular' is already used"),
    ("id: daily-habit", "id: coffee-card", "coffee-card", "streaks[1].id",
     "id 'coffee-card' is already used"),
    ("    repeat: true\n", "    repeat: true\n    every: 2\n", "every", "streaks[0]",
     "unknown key 'every'"),
])
def test_a_broken_streak_is_reported_at_its_line_and_column(old, new, at, path, message):
    text = TEXT.replace(old, new, 1)
    [(line, column, found_path, found_message)] = errors_of(text)
    assert (found_path, found_message[:len(message)]) == (path, message)
    where = TEXT.index(old) + new.index(at)
    assert (line, column) == (text[:where].count("\n") + 1, where - text.rindex("\n", 0, where))


def test_three_weeks_in_a_row_complete_with_50_points_and_say_so():
    state = StreakState()
    words = []
    for day in (date(2026, 11, 2), date(2026, 11, 12), date(2026, 11, 22)):  # Mon, Thu, Sun of 3 weeks
        step, code, args = advance_streak(WEEKLY, state, purchase(), day)
        words.append(render(code, args))
        state = step.after
    assert words == ["Week 1 of 3 in a row on Weekly regular", "Week 2 of 3 in a row on Weekly regular",
                     "Weekly regular: 3 of 3 weeks in a row, complete, 50 points"]
    assert (step.completes, step.points, state.current, state.run, state.best, state.completed) == (
        True, 50, 3, 3, 3, 1)
    assert state.last_period == date(2026, 11, 16)


def test_a_second_purchase_in_the_same_week_already_counts():
    state, codes = run(WEEKLY, [date(2026, 11, 2), date(2026, 11, 8)])
    assert codes == ["streak_progress", "streak_counted"] and state.current == 1
    step, code, args = advance_streak(WEEKLY, state, purchase(), date(2026, 11, 8))
    assert render(code, args) == "This week already counts for Weekly regular"
    assert (step.gives, step.after) == (False, state)  # kept: a refund of the week's first passes it on


def test_grace_tolerates_one_missed_week_which_does_not_count_and_two_break_it():
    kept, _ = run(WEEKLY, [date(2026, 11, 2), date(2026, 11, 16)])  # week of the 9th missed
    assert (kept.current, kept.run) == (2, 2)
    broken, _ = run(WEEKLY, [date(2026, 11, 2), date(2026, 11, 23)])  # two weeks missed
    assert (broken.current, broken.run, broken.best) == (1, 1, 1)


def test_without_grace_a_missed_day_breaks_the_streak_and_the_deadline_is_the_next_day():
    state, _ = run(DAILY, [date(2026, 11, 2)])
    assert ends_after(DAILY, state) == date(2026, 11, 3)
    assert standing(DAILY, state, date(2026, 11, 3)).current == 1
    assert standing(DAILY, state, date(2026, 11, 4)).current == 0
    broken, codes = run(DAILY, [date(2026, 11, 4)], state=state)
    assert codes == ["streak_progress"] and broken.current == 1


def test_a_streak_that_does_not_repeat_completes_once_ever():
    state, codes = run(DAILY, [date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4), date(2026, 11, 5)])
    assert codes == ["streak_progress", "streak_completed", "streak_done", "streak_done"]
    assert (state.completed, state.current, ends_after(DAILY, state)) == (1, 2, None)


def test_a_repeating_streak_counts_again_from_one_and_awards_each_further_length():
    weeks = [date(2026, 11, 2) + timedelta(weeks=i) for i in range(7)]
    state, codes = run(WEEKLY, weeks)
    assert codes == ["streak_progress", "streak_progress", "streak_completed"] * 2 + ["streak_progress"]
    assert (state.current, state.run, state.best, state.completed) == (1, 7, 7, 2)
    # the deadline: the week after the grace week, ending on its Sunday
    assert ends_after(WEEKLY, state) == date(2027, 1, 3)  # last counted: week of 14 Dec; 21 Dec is grace


def test_calendar_months_in_a_row_for_reviews_across_a_year_end():
    state, codes = run(MONTHLY, [date(2026, 11, 30), date(2026, 12, 1), date(2027, 1, 31)], event=REVIEW)
    assert codes == ["streak_progress", "streak_progress", "streak_completed"]
    assert (state.completed, state.last_period) == (1, date(2027, 1, 1))
    _step, code, args = advance_streak(MONTHLY, StreakState(), REVIEW, date(2026, 11, 3))
    assert render(code, args) == "Month 1 of 3 in a row on Monthly reviewer"


def test_a_purchase_without_coffee_or_of_zero_counts_for_nothing():
    assert advance_streak(WEEKLY, StreakState(), purchase("pastry"), date(2026, 11, 2))[:2] == (
        None, "no_matching_items")
    step, code, args = advance_streak(WEEKLY, StreakState(), purchase(amount=0), date(2026, 11, 2))
    assert step is None
    assert render(code, args) == "A purchase of $0.00 counts for no streak (Weekly regular, at least $0.01)"


def test_an_event_dated_before_the_last_counted_period_changes_nothing():
    state, _ = run(WEEKLY, [date(2026, 11, 16)])
    assert advance_streak(WEEKLY, state, purchase(), date(2026, 11, 9))[:2] == (None, "streak_earlier")


def test_evaluate_awards_a_completion_apart_from_the_rules_neither_qualifying_nor_multiplied():
    before = StreakState(2, 2, 2, 0, date(2026, 11, 16))
    result = evaluate(PROGRAM, purchase(), MemberFacts("mem_1", "gold", streaks={"weekly-regular": before}))
    [award] = [a for a in result.awards if a.rule_id == "weekly-regular"]
    assert (award.points, award.tier_qualifying, award.spend_based) == (50, False, False)
    lines = {line.rule_id: line for line in result.streak_explanation}
    assert (lines["weekly-regular"].code, lines["weekly-regular"].points) == ("streak_completed", 50)
    assert "weekly-regular" not in {line.rule_id for line in result.explanation}
    [step] = [s for s in result.streak_steps if s.streak_id == "weekly-regular"]
    assert step.after == StreakState(3, 3, 3, 1, date(2026, 11, 23))
