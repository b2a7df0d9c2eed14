"""The demo program's earning rules, figure by figure (docs/demo-program.md)."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from loyalty.engine import (
    EventFacts,
    Item,
    MemberFacts,
    ReferrerFacts,
    evaluate,
    load_program_dir,
)

RULES = Path(__file__).resolve().parents[2] / "rules"
PROGRAM = load_program_dir(RULES)
NOON = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # 12:00 in New York
HOLIDAY = datetime(2026, 12, 22, 17, 0, tzinfo=UTC)


def purchase(amount, *, at=NOON, coffee=0, other=0):
    items = []
    if coffee:
        items.append(Item("latte-l", "coffee", 1, coffee))
    if other:
        items.append(Item("scone", "pastry", 1, other))
    return EventFacts("purchase", at, amount=amount, currency="USD", items=tuple(items))


def member(tier="member", **kwargs):
    return MemberFacts("mem_1", tier, **kwargs)


def points(evaluation, member_id="mem_1"):
    return {a.rule_id: a.points for a in evaluation.awards if a.member_id == member_id}


def reason(evaluation, rule_id):
    return next(e for e in evaluation.explanation if e.rule_id == rule_id)


def test_member_earns_1_point_per_whole_dollar():
    result = evaluate(PROGRAM, purchase(1250), member())
    assert points(result) == {"spend": 12}
    assert reason(result, "spend").reason == "1 point per $1 on $12.50 = 12 points"


def test_silver_member_earns_1_25_per_dollar_rounded_down_exactly():
    # 11.20 × 1.25 is 14 exactly; a float says 13.999…
    result = evaluate(PROGRAM, purchase(1120), member("silver"))
    assert points(result) == {"spend": 14}
    assert "× 1.25 Silver multiplier" in reason(result, "spend").reason


def test_gold_member_earns_1_5_per_dollar():
    assert points(evaluate(PROGRAM, purchase(1250), member("gold"))) == {"spend": 18}


def test_coffee_items_earn_one_more_point_per_dollar_times_tier():
    event = EventFacts(
        "purchase",
        NOON,
        amount=1250,
        items=(Item("latte-l", "coffee", 2, 450), Item("scone", "pastry", 1, 350)),
    )
    assert points(evaluate(PROGRAM, event, member())) == {"spend": 12, "coffee-bonus": 9}
    assert points(evaluate(PROGRAM, event, member("silver"))) == {"spend": 15, "coffee-bonus": 11}


def test_purchase_without_coffee_explains_the_missing_bonus():
    result = evaluate(PROGRAM, purchase(1250, other=1250), member())
    explained = reason(result, "coffee-bonus")
    assert (explained.matched, explained.points, explained.reason) == (
        False,
        0,
        "No items in category coffee",
    )


def test_holiday_purchase_earns_double():
    result = evaluate(PROGRAM, purchase(1250, at=HOLIDAY), member())
    assert points(result) == {"spend": 12, "holiday-double": 12}


@pytest.mark.parametrize(
    ("moment", "bonus"),
    [
        ("2026-12-20T04:59:59+00:00", False),  # 23:59:59 on 19 December in New York
        ("2026-12-20T05:00:00+00:00", True),
        ("2026-12-27T04:59:59+00:00", True),  # 23:59:59 on 26 December in New York
        ("2026-12-27T05:00:00+00:00", False),
    ],
)
def test_holiday_window_edges_are_new_york_days(moment, bonus):
    result = evaluate(PROGRAM, purchase(1000, at=datetime.fromisoformat(moment)), member())
    assert ("holiday-double" in points(result)) is bonus
    assert reason(result, "holiday-double").matched is bonus


def test_after_the_holiday_window_the_explanation_names_the_dates():
    result = evaluate(PROGRAM, purchase(1000, at=datetime(2026, 12, 27, 5, tzinfo=UTC)), member())
    assert reason(result, "holiday-double").reason == (
        "Only from 2026-12-20 to 2026-12-26 (America/New_York); this purchase was on 2026-12-27"
    )


def test_daily_cap_gives_the_crossing_rule_the_remainder():
    result = evaluate(PROGRAM, purchase(100000, at=HOLIDAY, coffee=60000, other=40000), member())
    assert points(result) == {"spend": 1000, "coffee-bonus": 600, "holiday-double": 400}
    assert reason(result, "holiday-double").reason.endswith(
        "Daily cap of 2,000 points for purchase-daily reached: 1,600 already earned today, 400 awarded of 1,000"
    )


def test_daily_cap_trims_later_rules_first_for_a_big_gold_holiday_purchase():
    result = evaluate(
        PROGRAM, purchase(150000, at=HOLIDAY, coffee=60000, other=90000), member("gold")
    )
    assert points(result) == {"spend": 2000}
    coffee = reason(result, "coffee-bonus")
    assert (coffee.matched, coffee.points) == (True, 0)
    assert "2,000 already earned today, 0 awarded of 900" in coffee.reason
    assert sum(i.amount for i in result.usage if i.counter_id == "cap:purchase-daily") == 2000


def test_daily_cap_counts_points_already_earned_today():
    usage = {("cap:purchase-daily", "2026-11-23"): 1980}
    result = evaluate(PROGRAM, purchase(4500), member(usage=usage))
    assert points(result) == {"spend": 20}
    assert reason(result, "spend").reason == (
        "1 point per $1 on $45.00 = 45 points. Daily cap of 2,000 points for purchase-daily reached: "
        "1,980 already earned today, 20 awarded of 45"
    )


def test_daily_cap_resets_the_next_new_york_day():
    usage = {("cap:purchase-daily", "2026-11-23"): 2000}
    next_day = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # 00:00 on the 24th in New York
    assert points(evaluate(PROGRAM, purchase(4500, at=next_day), member(usage=usage))) == {
        "spend": 45
    }


def test_a_zero_purchase_earns_nothing_but_is_explained():
    result = evaluate(PROGRAM, purchase(0), member())
    assert result.awards == ()
    assert result.usage == ()
    assert [e.rule_id for e in result.explanation] == [
        "spend",
        "coffee-bonus",
        "holiday-double",
        "referral",
    ]
    assert reason(result, "spend").reason == "1 point per $1 on $0.00 = 0 points"


def test_purchase_awards_are_spend_based_and_tier_qualifying():
    award = evaluate(PROGRAM, purchase(1250), member()).awards[0]
    assert (award.spend_based, award.tier_qualifying, award.status) == (True, True, "active")
    assert award.available_at == NOON


def test_welcome_bonus_once_per_member_and_not_multiplied():
    enrolled = EventFacts("enrolled", NOON)
    first = evaluate(PROGRAM, enrolled, member("gold"))
    assert points(first) == {"welcome": 50}
    assert first.awards[0].spend_based is False
    assert [(u.counter_id, u.period_key, u.amount) for u in first.usage] == [
        ("rule:welcome", "ever", 1)
    ]
    again = evaluate(PROGRAM, enrolled, member(usage={("rule:welcome", "ever"): 1}))
    assert again.awards == ()
    assert reason(again, "welcome").reason == "Already awarded once for this member"


def test_email_signup_earns_100_once_ever():
    signup = EventFacts("email_signup", NOON)
    assert points(evaluate(PROGRAM, signup, member())) == {"email-signup": 100}
    assert evaluate(PROGRAM, signup, member(usage={("rule:email-signup", "ever"): 1})).awards == ()


def test_birthday_once_per_new_york_calendar_year():
    new_years_eve = datetime(2027, 1, 1, 3, 0, tzinfo=UTC)  # still 2026 in New York
    birthday = EventFacts("birthday", new_years_eve)
    assert points(evaluate(PROGRAM, birthday, member())) == {"birthday": 200}
    used = member(usage={("rule:birthday", "2026"): 1})
    result = evaluate(PROGRAM, birthday, used)
    assert result.awards == ()
    assert reason(result, "birthday").reason == "Limit of 1 per calendar year reached"
    next_year = EventFacts("birthday", datetime(2027, 1, 1, 5, 0, tzinfo=UTC))
    assert points(evaluate(PROGRAM, next_year, used)) == {"birthday": 200}


@pytest.mark.parametrize(("earlier", "earned"), [(0, 25), (2, 25), (3, 0)])
def test_review_earns_25_at_most_3_per_calendar_month(earlier, earned):
    result = evaluate(
        PROGRAM, EventFacts("review", NOON), member(usage={("rule:review", "2026-11"): earlier})
    )
    assert sum(a.points for a in result.awards) == earned
    if not earned:
        assert reason(result, "review").reason == "Limit of 3 per calendar month reached"


def test_an_event_no_rule_listens_to_earns_nothing():
    result = evaluate(PROGRAM, EventFacts("visit", NOON), member())
    assert (result.awards, result.explanation, result.usage) == ((), (), ())


def referred(
    email="ana@example.com",
    referrer_email="bo@example.com",
    status="active",
    referrer_usage=None,
    **kw,
):
    referrer = ReferrerFacts("mem_ref", referrer_email, status, referrer_usage or {})
    return MemberFacts("mem_1", "member", email=email, referred=True, referrer=referrer, **kw)


def test_referral_gives_250_to_the_member_and_500_to_the_referrer():
    result = evaluate(PROGRAM, purchase(1000), referred())
    assert points(result) == {"spend": 10, "referral": 250}
    assert points(result, "mem_ref") == {"referral": 500}
    assert reason(result, "referral").points == 750
    increments = {(u.member_id, u.counter_id, u.period_key): u.amount for u in result.usage}
    assert increments[("mem_1", "rule:referral", "ever")] == 1
    assert increments[("mem_ref", "referrer:referral", "2026")] == 1
    assert all(not a.tier_qualifying for a in result.awards if a.rule_id == "referral")


def test_referral_needs_a_purchase_of_10_dollars():
    result = evaluate(PROGRAM, purchase(999), referred())
    assert "referral" not in points(result)
    assert (
        reason(result, "referral").reason
        == "Condition not met: amount must be at least $10.00 (was $9.99)"
    )


def test_referral_only_once_per_referred_member():
    result = evaluate(PROGRAM, purchase(5000), referred(usage={("rule:referral", "ever"): 1}))
    assert points(result) == {"spend": 50}
    assert points(result, "mem_ref") == {}


def test_referral_blocked_when_both_share_an_email_whatever_the_case():
    result = evaluate(
        PROGRAM,
        purchase(1000),
        referred(email=" Ana@Example.com", referrer_email="ana@example.COM "),
    )
    assert points(result) == {"spend": 10}
    assert points(result, "mem_ref") == {}
    assert reason(result, "referral").reason == "Referrer and member share an email address"


def test_referral_empty_emails_are_not_shared():
    result = evaluate(PROGRAM, purchase(1000), referred(email="", referrer_email=""))
    assert points(result, "mem_ref") == {"referral": 500}


def test_referrer_capped_at_5_a_year_but_the_member_still_gets_250():
    result = evaluate(
        PROGRAM, purchase(1000), referred(referrer_usage={("referrer:referral", "2026"): 5})
    )
    assert points(result)["referral"] == 250
    assert points(result, "mem_ref") == {}
    assert (
        "referrer's cap of 5 referrals per calendar year is reached"
        in reason(result, "referral").reason
    )


def test_suspended_referrer_gets_nothing():
    result = evaluate(PROGRAM, purchase(1000), referred(status="suspended"))
    assert points(result)["referral"] == 250
    assert points(result, "mem_ref") == {}


def test_member_without_referral_code_gets_no_referral_bonus():
    result = evaluate(PROGRAM, purchase(5000), member())
    explained = reason(result, "referral")
    assert (explained.matched, explained.reason) == (
        False,
        "Member did not enrol with a referral code",
    )


def test_explanation_as_dict_is_the_contract_shape():
    entry = evaluate(PROGRAM, purchase(1250), member()).explanation[0]
    assert entry.as_dict() == {
        "rule_id": "spend",
        "matched": True,
        "points": 12,
        "reason": "1 point per $1 on $12.50 = 12 points",
    }
