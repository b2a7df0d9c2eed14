"""Why a rule gave what it gave: a reason code with its arguments, and the words for it.

The engine explains each rule with a code from the table below and arguments
that are plain JSON (str, int, bool, None, lists and dicts of those): money
in minor units beside its currency code, exact numbers and dates as text.
The words are put together only when the explanation is read, from the code
and arguments alone, so wording can change and a stored explanation stays
true; a code this engine does not know reads as its code and arguments.

================= ======= =========================================================
code              matched args
================= ======= =========================================================
rate              yes     rate (as written), of (amount or items), amount (minor
                          units the rate applied to), currency, categories and skus
                          (sorted lists, or None), multiplier (as written) and tier
                          (its name), or both None when the tier does not multiply,
                          points (the rule's, before caps)
fixed             yes     base_points, multiplier, tier (as for rate), points
cap_reached       yes     award (rate or fixed) and its arguments, caps: the caps
                          that trimmed the points, in order, each {cap, max_points,
                          per, used, awarded, of}
limit_reached     yes     count, per
no_items          no      (an items rule without a filter, on a purchase without items)
no_matching_items no      categories, skus
condition_not_met no      field, operator, expected, actual (None when missing),
                          currency (an amount's, else None); values as they are when
                          str, int or bool, a list for a list of values, else as text
outside_window    no      start, end (dates, either may be None), timezone,
                          event_type, day (the event's, on the program's calendar)
wrong_weekday     no      days (["sat", "sun"]), timezone, event_type, day
not_referred      no      (the member did not enrol with a referral code)
shared_email      no      (referrer and member share an email address)
referral          yes     referred_points, referrer (member id or None),
                          referrer_status, referrer_outcome (awarded, missing,
                          inactive, capped or no_points), referrer_points (what the
                          referrer got), referrer_limit ({count, per} when capped)
================= ======= =========================================================
"""

import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import cache

from .progress_reasons import PROGRESS_RENDERERS
from .wording import PERIOD_WORDS, grouped, money, points, unit

__all__ = ["CODES", "LIMIT_WORDS", "PERIOD_WORDS", "grouped", "money", "points", "unit", "words"]

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_AS_THEY_ARE = frozenset({str, int, bool})
LIMIT_WORDS = {
    "day": "per day",
    "week": "per week",
    "calendar_month": "per calendar month",
    "calendar_year": "per calendar year",
    "member": "per member",
}
OPERATOR_WORDS = {
    "equals": "must be",
    "not_equals": "must not be",
    "in": "must be one of",
    "not_in": "must not be one of",
    "at_least": "must be at least",
    "at_most": "must be at most",
    "more_than": "must be more than",
    "less_than": "must be less than",
}


def number(value) -> str:
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        return str(Decimal(value.numerator) / Decimal(value.denominator))
    return str(value)


def plain(value):
    """A compared value as an argument: JSON that reads back in the same words."""
    if value is None or type(value) in _AS_THEY_ARE:
        return value
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    return number(value)


def words(code: str, args: Mapping) -> str:
    render = _RENDERERS.get(code)
    if render is not None:
        try:
            return render(args)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            pass  # arguments this engine did not write: said as they are, below
    return f"{code} {json.dumps(args, sort_keys=True, ensure_ascii=False, default=str)}"


def _rate(args: Mapping) -> str:
    currency = args["currency"]
    on = money(args["amount"], currency)
    if args["of"] == "items":
        on = f"{on} of {_items_named(args['categories'], args['skus'])}"
    rate = args["rate"]
    return f"{rate} {_per(rate)} per {unit(currency)} on {on}{_by_tier(args)} = {points(args['points'])}"


@cache
def _per(rate: str) -> str:
    """ "point" after a rate of one however written (1, 1.0, 1_0e-1), else "points"."""
    return "point" if Decimal(rate.replace("_", "")) == 1 else "points"


def _fixed(args: Mapping) -> str:
    base = points(args["base_points"])
    by_tier = _by_tier(args)
    return f"{base}{by_tier} = {points(args['points'])}" if by_tier else base


def _by_tier(args: Mapping) -> str:
    if args["multiplier"] is None:
        return ""
    return f" × {args['multiplier']} {args['tier']} multiplier"


def _cap_reached(args: Mapping) -> str:
    return ". ".join([_AWARDS[args["award"]](args), *map(_cap, args["caps"])])


def _cap(cap: Mapping) -> str:
    adjective, when = PERIOD_WORDS[cap["per"]]
    return (
        f"{adjective} cap of {grouped(cap['max_points'])} points for {cap['cap']} reached: "
        f"{grouped(cap['used'])} already earned {when}, {grouped(cap['awarded'])} awarded of {grouped(cap['of'])}"
    )


def _limit_reached(args: Mapping) -> str:
    if args["per"] == "member" and args["count"] == 1:
        return "Already awarded once for this member"
    return f"Limit of {grouped(args['count'])} {LIMIT_WORDS[args['per']]} reached"


def _item_filter(categories, skus) -> str:
    parts = []
    if categories is not None:
        parts.append("in category " + " or ".join(categories))
    if skus is not None:
        parts.append("with sku " + " or ".join(skus))
    return " ".join(parts)


def _items_named(categories, skus) -> str:
    if skus is None and categories is not None:
        return " or ".join(categories) + " items"
    wanted = _item_filter(categories, skus)
    return f"items {wanted}" if wanted else "items"


def _condition_not_met(args: Mapping) -> str:
    field, currency, actual = args["field"], args["currency"], args["actual"]
    was = "missing" if actual is None else _shown(field, actual, currency)
    expected = _shown(field, args["expected"], currency)
    return f"Condition not met: {field} {OPERATOR_WORDS[args['operator']]} {expected} (was {was})"


def _shown(field: str, value, currency: str | None) -> str:
    if isinstance(value, list):
        return ", ".join(_shown(field, v, currency) for v in value)
    if field == "amount" and type(value) is int:
        return money(value, currency)
    return str(value)


def _this(event_type: str) -> str:
    return "this purchase" if event_type == "purchase" else f"this {event_type} event"


def _outside_window(args: Mapping) -> str:
    start, end = args["start"], args["end"]
    if start and end:
        span = f"from {start} to {end}"
    else:
        span = f"from {start}" if start else f"until {end}"
    return f"Only {span} ({args['timezone']}); {_this(args['event_type'])} was on {args['day']}"


def _wrong_weekday(args: Mapping) -> str:
    days = ", ".join(day.capitalize() for day in args["days"])
    weekday = _WEEKDAYS[date.fromisoformat(args["day"]).weekday()]
    return f"Only on {days} ({args['timezone']}); {_this(args['event_type'])} was on a {weekday}"


def _referral(args: Mapping) -> str:
    said = []
    if args["referred_points"]:
        said.append(f"{points(args['referred_points'])} for this member")
    outcome = args["referrer_outcome"]
    if outcome == "missing":
        said.append("no referrer on record, so no referrer points")
    elif outcome == "inactive":
        said.append(f"the referrer's account is {args['referrer_status']}, so the referrer gets nothing")
    elif outcome == "capped":
        limit = args["referrer_limit"]
        said.append(
            f"the referrer's cap of {grouped(limit['count'])} referrals {LIMIT_WORDS[limit['per']]} "
            "is reached, so the referrer gets nothing"
        )
    elif outcome == "awarded":
        said.append(f"{points(args['referrer_points'])} for the referrer {args['referrer']}")
    elif outcome != "no_points":
        raise ValueError(outcome)
    reason = "; ".join(said) if said else "Nothing to award"
    return reason[0].upper() + reason[1:]


_AWARDS = {"rate": _rate, "fixed": _fixed}
_RENDERERS = {
    "rate": _rate,
    "fixed": _fixed,
    "cap_reached": _cap_reached,
    "limit_reached": _limit_reached,
    "no_items": lambda args: "No items in this purchase",
    "no_matching_items": lambda args: f"No items {_item_filter(args['categories'], args['skus'])}",
    "condition_not_met": _condition_not_met,
    "outside_window": _outside_window,
    "wrong_weekday": _wrong_weekday,
    "not_referred": lambda args: "Member did not enrol with a referral code",
    "shared_email": lambda args: "Referrer and member share an email address",
    "referral": _referral,
}
CODES = frozenset(_RENDERERS)
_RENDERERS.update(PROGRESS_RENDERERS)
