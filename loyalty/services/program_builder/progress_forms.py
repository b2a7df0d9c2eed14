"""The forms of badges, challenges and streaks: each as flat form fields, and back (see forms.py).

A challenge's goal and a streak's award are one choice each (``goal``,
``award``) with a field per option, so a form submits every option's field
and the choice says which one counts.
"""

from loyalty.engine.challenge_grammar import BADGE_KEYS, CALENDAR
from loyalty.engine.challenge_grammar import KEYS as CHALLENGE_KEYS
from loyalty.engine.challenges import GOALS
from loyalty.engine.streak_grammar import KEYS as STREAK_KEYS
from loyalty.engine.streaks import STREAK_PERIODS

from .form_reader import FormReader, item_filter_data, item_filter_fields, ordered, put, text_of

ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
ID_WORDS = "letters, digits, - and _, e.g. {}"
#: A challenge's window: a calendar period, or ``days``: the last N program days.
WITHIN = CALENDAR + ("days",)
GOAL_FIELDS = {"count": "goal_count", "amount": "goal_amount", "distinct_categories": "goal_categories"}
AWARDS = ("points", "badge")


def badge_fields(badge: dict) -> dict:
    return {key: text_of(badge.get(key)) for key in BADGE_KEYS}


def badge_data(form: FormReader) -> dict:
    badge = {"id": form.required("id", ID_PATTERN, ID_WORDS.format("explorer")), "name": form.required("name")}
    put(badge, "image", form.text("image"))
    put(badge, "description", form.text("description"))
    return ordered(badge, BADGE_KEYS)


def _award_fields(award: dict) -> dict:
    return {"award": "badge" if "badge" in award else "points", "points": text_of(award.get("points")),
            "badge": text_of(award.get("badge"))}


def _award_data(form: FormReader) -> dict:
    if form.choice("award", AWARDS, required=True) == "badge":
        return {"badge": form.required("badge")}
    return {"points": form.whole("points", minimum=1, required=True)}


def challenge_fields(challenge: dict) -> dict:
    goal, within = challenge.get("goal") or {}, challenge.get("within")
    kind = next((name for name in GOALS if name in goal), "count")
    fields = {"id": text_of(challenge.get("id")), "name": text_of(challenge.get("name")),
              "description": text_of(challenge.get("description")), "on": text_of(challenge.get("on")),
              "goal": kind, **{name: "" for name in GOAL_FIELDS.values()},
              "within": "days" if isinstance(within, dict) else text_of(within),
              "within_days": text_of(within.get("days")) if isinstance(within, dict) else "",
              **item_filter_fields(challenge.get("where") or {}),
              **_award_fields(challenge.get("award") or {}), "repeat": bool(challenge.get("repeat"))}
    fields[GOAL_FIELDS[kind]] = text_of(goal.get(kind))
    return fields


def challenge_data(form: FormReader) -> dict:
    challenge = {"id": form.required("id", ID_PATTERN, ID_WORDS.format("three-kinds")),
                 "name": form.required("name")}
    put(challenge, "description", form.text("description"))
    _on(form, challenge)
    goal = form.choice("goal", GOALS, required=True)
    if goal:
        challenge["goal"] = {goal: form.whole(GOAL_FIELDS[goal], minimum=1, required=True)}
    within = form.choice("within", WITHIN, required=True)
    challenge["within"] = {"days": form.whole("within_days", minimum=1, required=True)} if within == "days" \
        else within
    put(challenge, "where", item_filter_data(form))
    challenge["award"] = _award_data(form)
    if form.flag("repeat"):
        challenge["repeat"] = True
    return ordered(challenge, CHALLENGE_KEYS)


def streak_fields(streak: dict) -> dict:
    return {"id": text_of(streak.get("id")), "name": text_of(streak.get("name")),
            "description": text_of(streak.get("description")), "on": text_of(streak.get("on")),
            **item_filter_fields(streak.get("where") or {}), "min_amount": text_of(streak.get("min_amount")),
            "period": text_of(streak.get("period")), "length": text_of(streak.get("length")),
            "grace": text_of(streak.get("grace")), **_award_fields(streak.get("award") or {}),
            "repeat": bool(streak.get("repeat"))}


def streak_data(form: FormReader) -> dict:
    streak = {"id": form.required("id", ID_PATTERN, ID_WORDS.format("weekly-regular")),
              "name": form.required("name")}
    put(streak, "description", form.text("description"))
    _on(form, streak)
    put(streak, "where", item_filter_data(form))
    put(streak, "min_amount", form.whole("min_amount", minimum=1))
    streak["period"] = form.choice("period", STREAK_PERIODS, required=True)
    streak["length"] = form.whole("length", minimum=2, required=True)
    put(streak, "grace", form.whole("grace"))
    streak["award"] = _award_data(form)
    if form.flag("repeat"):
        streak["repeat"] = True
    return ordered(streak, STREAK_KEYS)


def _on(form: FormReader, item: dict) -> None:
    """The action counted; left empty, a purchase (the YAML's default)."""
    if form.text("on"):
        item["on"] = form.required("on", r"[a-z][a-z0-9_]*", "an action name like purchase or review")
