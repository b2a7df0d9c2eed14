"""The form of one way to earn: every kind of rule the engine knows, as flat fields, and back."""

import re

from loyalty.engine.conditions import TEXT_FIELDS
from loyalty.engine.expiry import EXPIRY_KEYS
from loyalty.engine.periods import DAY_NAMES, PERIODS
from loyalty.engine.rule_grammar import RULE_KEYS

from .form_reader import (
    FormReader,
    as_list,
    duration,
    duration_data,
    item_filter_data,
    item_filter_fields,
    on_day,
    ordered,
    put,
    text_of,
)

AWARD_KINDS = {"points": "Fixed points", "amount": "Points per dollar of the amount",
               "items": "Points per dollar of some items", "referral": "A referral: both sides earn"}
END_OF = ("month", "quarter", "year")


def rule_fields(rule: dict) -> dict:
    award, referral = rule.get("award") or {}, rule.get("referral")
    if referral is not None:
        kind = "referral"
    elif "points" in award or not award:
        kind = "points"
    else:
        kind = "items" if award.get("of") == "items" else "amount"
    window, limit = rule.get("window") or {}, rule.get("limit") or {}
    referral = referral or {}
    referrer_limit = referral.get("referrer_limit") or {}
    rows = [(name, operator, value) for name, operators in (rule.get("conditions") or {}).items()
            for operator, value in (operators or {}).items()]
    expires = rule.get("expires") or {}
    after = duration(expires.get("after"))
    return {
        "id": text_of(rule.get("id")), "description": text_of(rule.get("description")),
        "on": text_of(rule.get("on")), "award": kind, "points": text_of(award.get("points")),
        "points_per_dollar": text_of(award.get("points_per_dollar")),
        **item_filter_fields(award.get("where") or {}),
        "multiply_by_tier": bool(rule.get("multiply_by_tier")),
        "condition_field": [row[0] for row in rows], "condition_operator": [row[1] for row in rows],
        "condition_value": [_condition_text(row[2]) for row in rows],
        "window_from": text_of(window.get("from")), "window_to": text_of(window.get("to")),
        "days_of_week": [str(day).lower()[:3] for day in as_list(window.get("days_of_week"))],
        "limit_count": text_of(limit.get("count")), "limit_per": text_of(limit.get("per")),
        "referrer_points": text_of(referral.get("referrer_points")),
        "referred_points": text_of(referral.get("referred_points")),
        "referrer_limit_count": text_of(referrer_limit.get("count")),
        "referrer_limit_per": text_of(referrer_limit.get("per")),
        "block_shared_email": bool(referral.get("block_shared_email")),
        "pending_days": text_of(rule.get("pending_days") or ""),
        "expires_after_count": after[0], "expires_after_unit": after[1],
        "expires_end_of": text_of(expires.get("end_of")), "expires_on": text_of(expires.get("on")),
    }


def rule_data(form: FormReader) -> dict:
    rule = {"id": form.required("id", r"[A-Za-z0-9][A-Za-z0-9_.-]*", "letters, digits, - and _, e.g. coffee-bonus")}
    put(rule, "description", form.text("description"))
    rule["on"] = form.required("on", r"[a-z][a-z0-9_]*", "an action name like purchase or review")
    kind = form.choice("award", AWARD_KINDS, required=True)
    if kind == "referral":
        referral = {"referrer_points": form.whole("referrer_points", required=True),
                    "referred_points": form.whole("referred_points", required=True)}
        put(referral, "referrer_limit", limit(form, "referrer_limit_count", "referrer_limit_per"))
        if form.flag("block_shared_email"):
            referral["block_shared_email"] = True
        rule["referral"] = referral
    elif kind == "points":
        rule["award"] = {"points": form.whole("points", required=True)}
    elif kind in ("amount", "items"):
        award = {"points_per_dollar": form.number("points_per_dollar", required=True)}
        if kind == "items":
            where = item_filter_data(form)
            if not where:
                form.fail("item_values", "name at least one category or sku, e.g. coffee")
            award.update({"of": "items", "where": where})
        rule["award"] = award
    if form.flag("multiply_by_tier"):
        rule["multiply_by_tier"] = True
    put(rule, "conditions", _conditions(form))
    window = {}
    put(window, "from", form.day("window_from"))
    put(window, "to", form.day("window_to"))
    days = [day for day in form.many("days_of_week") if day]
    for day in days:
        if day not in DAY_NAMES:
            form.fail("days_of_week", f"days are {', '.join(DAY_NAMES)}")
    put(window, "days_of_week", days)
    put(rule, "window", window)
    put(rule, "limit", limit(form, "limit_count", "limit_per"))
    pending = form.whole("pending_days")
    put(rule, "pending_days", pending or None)
    expires = {}
    put(expires, "after", duration_data(form, "expires_after_count", "expires_after_unit"))
    put(expires, "end_of", form.choice("expires_end_of", END_OF))
    put(expires, "on", on_day(form, "expires_on"))
    put(rule, "expires", ordered(expires, EXPIRY_KEYS))
    return ordered(rule, RULE_KEYS)


def limit(form: FormReader, count_name: str, per_name: str) -> dict | None:
    count = form.whole(count_name)
    if not count:
        return None
    per = form.choice(per_name, PERIODS, required=True)
    return {"count": count, "per": per}


def _conditions(form: FormReader) -> dict:
    names, operators, values = (form.many("condition_field"), form.many("condition_operator"),
                                form.many("condition_value"))
    conditions: dict = {}
    for name, operator, value in zip(names, operators, values, strict=False):
        if not name and not value:
            continue
        if not name or not operator:
            form.fail("condition_field", "each condition needs a field, an operator and a value")
            continue
        conditions.setdefault(name, {})[operator] = _condition_value(name, operator, value)
    return conditions


def _condition_value(name: str, operator: str, text: str):
    if operator in ("in", "not_in"):
        return [_scalar(name, part.strip()) for part in text.split(",") if part.strip()]
    return _scalar(name, text)


def _scalar(name: str, text: str):
    """What a condition's value means: text for text fields, a number where it reads as one."""
    if name in TEXT_FIELDS:
        return text
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return float(text)
    if text in ("true", "false"):
        return text == "true"
    return text


def _condition_text(value) -> str:
    if isinstance(value, list):
        return ", ".join(_condition_text(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
