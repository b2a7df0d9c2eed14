"""The `streaks:` section of the YAML, checked and compiled (see streaks.py)."""

from .challenge_grammar import read_award
from .checker import Checker, id_node
from .rule_grammar import ACTION, RULE_ID, item_filters
from .streaks import STREAK_PERIODS, Streak

KEYS = ("id", "name", "description", "on", "where", "min_amount", "period", "length", "grace", "award", "repeat")
REQUIRED = ("id", "name", "period", "length", "award")


def read_streaks(c: Checker, node, badge_ids: set[str] | None, taken_ids: set[str]) -> tuple | None:
    """``badge_ids``: the badges declared (None when they did not compile); ``taken_ids``: the ids of
    rules, cards and challenges, which a streak's may not take."""
    streaks: list[Streak] = []
    ok = True
    for i, item in enumerate(c.sequence(node, "streaks") or ()):
        streak = _streak(c, item, f"streaks[{i}]", badge_ids)
        if streak is None:
            ok = False
        elif streak.id in taken_ids or streak.id in {s.id for s in streaks}:
            c.error(id_node(item), f"streaks[{i}].id", f"id '{streak.id}' is already used")
            ok = False
        else:
            streaks.append(streak)
    return tuple(streaks) if ok else None


def _streak(c: Checker, node, path: str, badge_ids: set[str] | None) -> Streak | None:
    keys = c.mapping(node, path, KEYS, required=REQUIRED)
    if keys is None or not set(REQUIRED) <= set(keys):
        return None
    before = len(c.errors)
    streak_id = c.text(keys["id"], f"{path}.id", RULE_ID, "an id of letters, digits, - and _")
    name = c.text(keys["name"], f"{path}.name")
    description = c.text(keys["description"], f"{path}.description") if "description" in keys else ""
    on = c.text(keys["on"], f"{path}.on", ACTION, "an action name like purchase or review") \
        if "on" in keys else "purchase"
    filters = item_filters(c, keys["where"], f"{path}.where") if "where" in keys else {}
    min_amount = c.integer(keys["min_amount"], f"{path}.min_amount", 1) if "min_amount" in keys else 1
    period = c.choice(keys["period"], f"{path}.period", STREAK_PERIODS)
    length = c.integer(keys["length"], f"{path}.length", 2, "a whole number of periods")
    grace = c.integer(keys["grace"], f"{path}.grace", 0, "a whole number of periods") if "grace" in keys else 0
    points, badge_id = read_award(c, keys["award"], f"{path}.award", badge_ids)
    repeat = c.boolean(keys["repeat"], f"{path}.repeat") if "repeat" in keys else False
    for key in ("where", "min_amount"):
        if key in keys and on is not None and on != "purchase":
            c.error(keys[key], f"{path}.{key}", f"'{key}' is for purchases; this streak is on '{on}'")
    if len(c.errors) > before or filters is None:
        return None
    return Streak(streak_id, name, description, on, period, length, grace, filters.get("category"),
                  filters.get("sku"), min_amount, points, badge_id, bool(repeat))
