"""The program builder's forms: each part of the program as flat form fields, and back.

``fields(kind, data)`` turns one part of the YAML (a rule, a cap, a tier, a
reward, the expiry, lifecycle or program settings, as plain data) into the
values of its form; ``data(kind, fields)`` reads a submitted form back into
YAML data in the engine's own shapes, or says which field is wrong and what
it takes. ``data(kind, fields(kind, x))`` gives ``x`` back for every shape a
form shows; the document layer applies only what a form changed, so whatever
a form cannot show stays as written.
"""

from loyalty.engine.card_grammar import EXPIRES as CARD_EXPIRES
from loyalty.engine.expiry import EXPIRY_KEYS
from loyalty.engine.periods import PERIODS
from loyalty.engine.rewards import KEYS as REWARD_KEYS
from loyalty.engine.rewards import REWARD_TYPES

from .form_reader import (
    FormInvalid,
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
from .progress_forms import badge_data, badge_fields, challenge_data, challenge_fields, streak_data, streak_fields
from .rule_form import END_OF, rule_data, rule_fields


def fields(kind: str, data: dict | None) -> dict:
    return _FORMS[kind][0](data or {})


def data(kind: str, form) -> dict:
    """YAML data from a submitted form (a dict of str, or of lists for the fields that repeat)."""
    reader = FormReader(form)
    result = _FORMS[kind][1](reader)
    if reader.errors:
        raise FormInvalid(reader.errors)
    return result


def _cap_fields(cap: dict) -> dict:
    return {"id": text_of(cap.get("id")), "description": text_of(cap.get("description")),
            "rules": [str(rule) for rule in as_list(cap.get("rules"))],
            "max_points": text_of(cap.get("max_points")), "per": text_of(cap.get("per"))}


def _cap_data(form: FormReader) -> dict:
    cap = {"id": form.required("id", r"[A-Za-z0-9][A-Za-z0-9_.-]*", "letters, digits, - and _")}
    put(cap, "description", form.text("description"))
    rules = [rule for rule in form.many("rules") if rule]
    if not rules:
        form.fail("rules", "tick the ways to earn this cap limits")
    cap["rules"] = rules
    cap["max_points"] = form.whole("max_points", minimum=1, required=True)
    cap["per"] = form.choice("per", PERIODS, required=True)
    return cap


TIER_KEYS = ("id", "name", "qualifying_points", "multiplier", "badge")


def _tier_fields(tier: dict) -> dict:
    return {key: text_of(tier.get(key)) for key in TIER_KEYS}


def _tier_data(form: FormReader) -> dict:
    tier = {"id": form.required("id", r"[a-z][a-z0-9_-]*", "lowercase letters, digits, - and _, e.g. silver"),
            "name": form.required("name"),
            "qualifying_points": form.whole("qualifying_points", required=True)}
    put(tier, "multiplier", form.number("multiplier"))
    put(tier, "badge", form.text("badge"))
    return tier


def _tier_settings_fields(tiers: dict) -> dict:
    return {"qualifying_window_days": text_of(tiers.get("qualifying_window_days")),
            "hold_days": text_of(tiers.get("hold_days"))}


def _tier_settings_data(form: FormReader) -> dict:
    settings = {}
    put(settings, "qualifying_window_days", form.whole("qualifying_window_days", minimum=1))
    put(settings, "hold_days", form.whole("hold_days", minimum=1))
    return settings


def _reward_fields(reward: dict) -> dict:
    available = reward.get("available") or {}
    return {"id": text_of(reward.get("id")), "name": text_of(reward.get("name")),
            "description": text_of(reward.get("description")), "points_cost": text_of(reward.get("points_cost")),
            "type": text_of(reward.get("type")), "value": text_of(reward.get("value")),
            "tiers": [str(tier) for tier in as_list(reward.get("tiers"))], "stock": text_of(reward.get("stock")),
            "available_from": text_of(available.get("from")), "available_to": text_of(available.get("to")),
            "code_valid_days": text_of(reward.get("code_valid_days")), "stripe": bool(reward.get("stripe"))}


def _reward_data(form: FormReader) -> dict:
    reward = {"id": form.required("id", r"[A-Za-z0-9][A-Za-z0-9_.-]*", "letters, digits, - and _, e.g. free-drink"),
              "name": form.required("name")}
    put(reward, "description", form.text("description"))
    reward["points_cost"] = form.whole("points_cost", minimum=1, required=True)
    reward["type"] = form.choice("type", REWARD_TYPES, required=True)
    put(reward, "value", form.whole("value"))
    put(reward, "tiers", [tier for tier in form.many("tiers") if tier])
    put(reward, "stock", form.whole("stock"))
    available = {}
    put(available, "from", form.day("available_from"))
    put(available, "to", form.day("available_to"))
    put(reward, "available", available)
    put(reward, "code_valid_days", form.whole("code_valid_days", minimum=1))
    if form.flag("stripe"):
        reward["stripe"] = True
    return ordered(reward, REWARD_KEYS)


# Program-wide settings ----------------------------------------------------------------------------------

def _expiry_fields(expiry: dict) -> dict:
    after, inactive = duration(expiry.get("after")), duration(expiry.get("inactive_after"))
    return {"after_count": after[0], "after_unit": after[1], "end_of": text_of(expiry.get("end_of")),
            "on": text_of(expiry.get("on")), "inactive_after_count": inactive[0],
            "inactive_after_unit": inactive[1], "redate_earned": bool(expiry.get("redate_earned"))}


def _expiry_data(form: FormReader) -> dict:
    expiry = {}
    put(expiry, "after", duration_data(form, "after_count", "after_unit"))
    put(expiry, "end_of", form.choice("end_of", END_OF))
    put(expiry, "on", on_day(form, "on"))
    put(expiry, "inactive_after", duration_data(form, "inactive_after_count", "inactive_after_unit"))
    if form.flag("redate_earned"):
        expiry["redate_earned"] = True
    return ordered(expiry, EXPIRY_KEYS)


def _lifecycle_fields(lifecycle: dict) -> dict:
    return {key: text_of(lifecycle.get(key)) for key in ("repeat_within_days", "lapsed_after_days")}


def _lifecycle_data(form: FormReader) -> dict:
    lifecycle = {}
    put(lifecycle, "repeat_within_days", form.whole("repeat_within_days", minimum=1))
    put(lifecycle, "lapsed_after_days", form.whole("lapsed_after_days", minimum=1))
    return lifecycle


def _program_fields(program: dict) -> dict:
    return {key: text_of(program.get(key)) for key in ("name", "currency", "point_value", "timezone")}


def _program_data(form: FormReader) -> dict:
    program = {"name": form.required("name"),
               "currency": form.required("currency", r"[A-Z]{3}", "a 3-letter code like USD")}
    put(program, "point_value", form.whole("point_value", minimum=1))
    program["timezone"] = form.required("timezone")
    return program


def _transfers_fields(transfers: dict) -> dict:
    return {"enabled": bool(transfers.get("enabled")), "min_points": text_of(transfers.get("min_points")),
            "max_points_per_month": text_of(transfers.get("max_points_per_month"))}


def _transfers_data(form: FormReader) -> dict:
    transfers = {"enabled": form.flag("enabled")}
    put(transfers, "min_points", form.whole("min_points", minimum=1))
    put(transfers, "max_points_per_month", form.whole("max_points_per_month", minimum=1))
    return transfers


# Stamp cards ---------------------------------------------------------------------------------------

CARD_KEYS = ("id", "name", "description", "stamp", "stamps", "reward", "points", "expires")
STAMP_KEYS = ("where", "min_amount", "per")


def _card_fields(card: dict) -> dict:
    stamp = card.get("stamp") or {}
    return {"id": text_of(card.get("id")), "name": text_of(card.get("name")),
            "description": text_of(card.get("description")), **item_filter_fields(stamp.get("where") or {}),
            "min_amount": text_of(stamp.get("min_amount")), "per": text_of(stamp.get("per")),
            "stamps": text_of(card.get("stamps")), "completes": "points" if "points" in card else "reward",
            "reward": text_of(card.get("reward")), "points": text_of(card.get("points")),
            **_card_expiry_fields(card.get("expires") or {})}


def _card_expiry_fields(expires: dict) -> dict:
    """``{inactive_days: N}`` or ``{after_days: N}`` as which (``expires``) and how many days."""
    kind = next((name for name in CARD_EXPIRES if name in expires), "")
    return {"expires": kind, "expires_days": text_of(expires.get(kind)) if kind else ""}


def _card_data(form: FormReader) -> dict:
    card = {"id": form.required("id", r"[A-Za-z0-9][A-Za-z0-9_.-]*", "letters, digits, - and _, e.g. coffee-card"),
            "name": form.required("name")}
    put(card, "description", form.text("description"))
    stamp = {}
    put(stamp, "where", item_filter_data(form))
    put(stamp, "min_amount", form.whole("min_amount", minimum=1))
    put(stamp, "per", form.choice("per", ("day", "visit")))
    card["stamp"] = stamp
    card["stamps"] = form.whole("stamps", minimum=2, required=True)
    if form.choice("completes", ("reward", "points"), required=True) == "points":
        card["points"] = form.whole("points", minimum=1, required=True)
    else:
        card["reward"] = form.required("reward")
    kind = form.choice("expires", CARD_EXPIRES)
    if kind:
        card["expires"] = {kind: form.whole("expires_days", minimum=1, required=True)}
    return ordered(card, CARD_KEYS)


_FORMS = {
    "rule": (rule_fields, rule_data),
    "cap": (_cap_fields, _cap_data),
    "tier": (_tier_fields, _tier_data),
    "tier_settings": (_tier_settings_fields, _tier_settings_data),
    "reward": (_reward_fields, _reward_data),
    "expiry": (_expiry_fields, _expiry_data),
    "lifecycle": (_lifecycle_fields, _lifecycle_data),
    "program": (_program_fields, _program_data),
    "transfers": (_transfers_fields, _transfers_data),
    "card": (_card_fields, _card_data),
    "badge": (badge_fields, badge_data),
    "challenge": (challenge_fields, challenge_data),
    "streak": (streak_fields, streak_data),
}
KINDS = tuple(_FORMS)
