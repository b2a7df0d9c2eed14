"""The `badges:` and `challenges:` sections of the YAML, checked and compiled (see challenges.py)."""

from .card_grammar import read_cards
from .challenges import GOALS, Badge, Challenge
from .checker import Checker, suggestion
from .periods import PERIODS
from .rule_grammar import ACTION, RULE_ID, item_filters

BADGE_KEYS = ("id", "name", "image", "description")
KEYS = ("id", "name", "description", "on", "goal", "within", "where", "award", "repeat")
CALENDAR = tuple(p for p in PERIODS if p != "member")


def read_progress(sections: dict, catalog: dict | None, rule_ids: set[str]) -> tuple:
    """(cards, badges, challenges) of the sections; ``catalog``: rewards by id, None if unread."""
    cards = read_cards(*sections["cards"], catalog, rule_ids) if "cards" in sections else ()
    badges = read_badges(*sections["badges"]) if "badges" in sections else ()
    challenges = ()
    if "challenges" in sections:
        badge_ids = None if badges is None else {badge.id for badge in badges}
        challenges = read_challenges(*sections["challenges"], badge_ids,
                                     rule_ids | {card.id for card in cards or ()})
    return cards, badges, challenges


def read_badges(c: Checker, node) -> tuple[Badge, ...] | None:
    badges: list[Badge] = []
    for i, item in enumerate(c.sequence(node, "badges") or ()):
        path = f"badges[{i}]"
        keys = c.mapping(item, path, BADGE_KEYS, required=("id", "name"))
        if keys is None or not {"id", "name"} <= set(keys):
            return None
        badge_id = c.text(keys["id"], f"{path}.id", RULE_ID, "an id of letters, digits, - and _")
        name = c.text(keys["name"], f"{path}.name")
        image = c.text(keys["image"], f"{path}.image") if "image" in keys else None
        description = c.text(keys["description"], f"{path}.description") if "description" in keys else ""
        if None in (badge_id, name, description) or ("image" in keys and image is None):
            return None
        if badge_id in {b.id for b in badges}:
            c.error(keys["id"], f"{path}.id", f"badge id '{badge_id}' is used twice")
            return None
        badges.append(Badge(badge_id, name, image, description))
    return tuple(badges)


def read_challenges(c: Checker, node, badge_ids: set[str] | None, taken_ids: set[str]) -> tuple | None:
    """``badge_ids``: the badges declared (None when they did not compile); ``taken_ids``: rules' and
    cards' ids, which a challenge's may not take."""
    challenges: list[Challenge] = []
    ok = True
    for i, item in enumerate(c.sequence(node, "challenges") or ()):
        challenge = _challenge(c, item, f"challenges[{i}]", badge_ids)
        if challenge is None:
            ok = False
        elif challenge.id in taken_ids or challenge.id in {x.id for x in challenges}:
            c.error(item, f"challenges[{i}].id", f"id '{challenge.id}' is already used")
            ok = False
        else:
            challenges.append(challenge)
    return tuple(challenges) if ok else None


def _challenge(c: Checker, node, path: str, badge_ids: set[str] | None) -> Challenge | None:
    keys = c.mapping(node, path, KEYS, required=("id", "name", "goal", "within", "award"))
    if keys is None or not {"id", "name", "goal", "within", "award"} <= set(keys):
        return None
    before = len(c.errors)
    challenge_id = c.text(keys["id"], f"{path}.id", RULE_ID, "an id of letters, digits, - and _")
    name = c.text(keys["name"], f"{path}.name")
    description = c.text(keys["description"], f"{path}.description") if "description" in keys else ""
    on = c.text(keys["on"], f"{path}.on", ACTION, "an action name like purchase or review") \
        if "on" in keys else "purchase"
    goal, target = _goal(c, keys["goal"], f"{path}.goal", on)
    per, days = _within(c, keys["within"], f"{path}.within")
    filters = item_filters(c, keys["where"], f"{path}.where") if "where" in keys else {}
    points, badge_id = read_award(c, keys["award"], f"{path}.award", badge_ids)
    repeat = c.boolean(keys["repeat"], f"{path}.repeat") if "repeat" in keys else False
    if "where" in keys and on != "purchase":
        c.error(keys["where"], f"{path}.where", "'where' picks a purchase's items; this challenge is on " + repr(on))
    if len(c.errors) > before or filters is None:
        return None
    return Challenge(challenge_id, name, description, on, goal, target, per, days, filters.get("category"),
                     filters.get("sku"), points, badge_id, bool(repeat))


def _goal(c: Checker, node, path: str, on: str | None):
    keys = c.mapping(node, path, GOALS)
    if keys is None:
        return None, None
    if len(keys) != 1:
        c.error(node, path, f"give exactly one of {', '.join(GOALS)}")
        return None, None
    [(goal, value)] = keys.items()
    target = c.integer(value, f"{path}.{goal}", 1)
    if goal != "count" and on != "purchase":
        c.error(value, f"{path}.{goal}", f"'{goal}' needs purchases, and this challenge is on '{on}'")
    return goal, target


def _within(c: Checker, node, path: str):
    if hasattr(node, "value") and isinstance(node.value, list):
        keys = c.mapping(node, path, ("days",), required=("days",))
        if not keys:
            return None, None
        return None, c.integer(keys["days"], f"{path}.days", 1)
    return c.choice(node, path, CALENDAR), None


def read_award(c: Checker, node, path: str, badge_ids: set[str] | None):
    keys = c.mapping(node, path, ("points", "badge"))
    if keys is None:
        return None, None
    if len(keys) != 1:
        c.error(node, path, "give exactly one of 'points' or 'badge'")
        return None, None
    if "points" in keys:
        return c.integer(keys["points"], f"{path}.points", 1), None
    badge_id = c.text(keys["badge"], f"{path}.badge")
    if badge_id is not None and badge_ids is not None and badge_id not in badge_ids:
        c.error(keys["badge"], f"{path}.badge", f"unknown badge '{badge_id}'{suggestion(badge_id, badge_ids)}")
    return None, badge_id
