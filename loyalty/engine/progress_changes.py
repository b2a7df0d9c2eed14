"""Stamp cards, badges, challenges and streaks in a marketer's words, and what a new program changes in them.

"Three kinds a month: 3 distinct categories in a calendar month → Explorer badge": the builder lists each
one so, and ``progress_changes`` says a change with the same words ("Challenge Three kinds a month: … → …").
"""

from .program import Program
from .wording import money, points

WITHIN_WORDS = {"day": "in a day", "week": "in a week", "calendar_month": "in a calendar month",
                "calendar_year": "in a calendar year"}
STREAK_UNITS = {"day": "day", "week": "week", "calendar_month": "month"}
AGAIN_WORDS = {"day": "again every day", "week": "again every week", "calendar_month": "again every month",
               "calendar_year": "again every year"}


def challenge_words(challenge, program: Program) -> str:
    """"3 distinct categories in a calendar month → Explorer badge"."""
    items = _named(challenge.categories, challenge.skus)
    if challenge.goal == "amount":
        goal = f"{money(challenge.target, program.currency)} spent" + (f" on {items}" if items else "")
    elif challenge.goal == "distinct_categories":
        goal = f"{challenge.target} distinct categories" + (f" among {items}" if items else "")
    elif challenge.on == "purchase":
        goal = f"{challenge.target} {'purchase' if challenge.target == 1 else 'purchases'}" + (
            f" with {items}" if items else "")
    else:
        goal = f"{challenge.on} {challenge.target} {'time' if challenge.target == 1 else 'times'}"
    within = WITHIN_WORDS[challenge.per] if challenge.per else f"within {challenge.days} days"
    said = f"{goal} {within} → {award_words(challenge.points, challenge.badge_id, program)}"
    if challenge.repeat:
        said += f", {AGAIN_WORDS[challenge.per]}" if challenge.per else f", again every {challenge.days} days at most"
    return said


def streak_words(streak, program: Program) -> str:
    """"a purchase with coffee every week, 3 weeks in a row (a gap of up to 1 week allowed) → 50 points"."""
    unit = STREAK_UNITS[streak.period]
    if streak.on == "purchase":
        items = _named(streak.categories, streak.skus)
        what = "a purchase" + (f" with {items}" if items else "")
        if streak.min_amount > 1:
            what += f" of at least {money(streak.min_amount, program.currency)}"
    else:
        what = streak.on
    said = f"{what} every {unit}, {streak.length} {unit}s in a row"
    if streak.grace:
        said += f" (a gap of up to {streak.grace} {unit if streak.grace == 1 else unit + 's'} allowed)"
    said += f" → {award_words(streak.points, streak.badge_id, program)}"
    if streak.repeat:
        said += f", again for every {streak.length} {unit}s more"
    return said


def award_words(points_given: int | None, badge_id: str | None, program: Program) -> str:
    if badge_id is not None:
        badge = program.badge(badge_id)
        return f"{badge.name if badge else badge_id} badge"
    return points(points_given or 0)


def badge_words(badge, program: Program) -> str:
    """Where members earn it: "from Three kinds a month", or "not awarded yet"."""
    sources = [item.name for item in (*program.challenges, *program.streaks) if item.badge_id == badge.id]
    sources += [f"reaching {tier.name}" for tier in program.tiers if tier.badge_id == badge.id]
    return f"from {', '.join(sources)}" if sources else "not awarded by anything yet"


def card_words(card, program: Program) -> str:
    """"9 stamps for coffee, one a day → Any drink, any size"."""
    items = _named(card.categories, card.skus)
    stamps = f"{card.stamps} stamps" + (f" for {items}" if items else "")
    if card.min_amount > 1:
        stamps += f" of at least {money(card.min_amount, program.currency)}"
    per = "one a visit" if card.per == "visit" else "one a day"
    if card.reward_id:
        reward = program.reward(card.reward_id)
        gives = reward.name if reward else card.reward_id
    else:
        gives = points(card.points or 0)
    lapse = f", stamps lapse after {card.inactive_days} days without one" if card.inactive_days else \
        f", each stamp lapses {card.after_days} days after it is given" if card.after_days else ""
    return f"{stamps}, {per} → {gives}{lapse}"


def progress_changes(old: Program, new: Program) -> list[str]:
    """Stamp cards, badges, challenges and streaks added, changed (in words) or removed."""
    return (_changes("stamp card", old.cards, new.cards, card_words, old, new)
            + _changes("badge", old.badges, new.badges, _badge_text, old, new)
            + _changes("challenge", old.challenges, new.challenges, challenge_words, old, new)
            + _changes("streak", old.streaks, new.streaks, streak_words, old, new)
            + _tier_badge_changes(old, new))


def _tier_badge_changes(old: Program, new: Program) -> list[str]:
    said = []
    for tier in new.tiers:
        was = next((before.badge_id for before in old.tiers if before.id == tier.id), None)
        if was == tier.badge_id:
            continue
        if tier.badge_id is None:
            said.append(f"Tier {tier.name}: no longer gives the {award_words(None, was, old)}")
        elif was is None:
            said.append(f"Tier {tier.name}: reaching it gives the {award_words(None, tier.badge_id, new)}")
        else:
            said.append(f"Tier {tier.name}: gives the {award_words(None, was, old)} → the "
                        f"{award_words(None, tier.badge_id, new)}")
    return said


def _badge_text(badge, program: Program) -> str:
    return f"{badge.name}{', image ' + badge.image if badge.image else ''}"


def _changes(noun: str, before_items, after_items, words, old: Program, new: Program) -> list[str]:
    before = {item.id: item for item in before_items or ()}
    said = []
    for item in after_items or ():
        was = before.pop(item.id, None)
        if was is None:
            said.append(f"New {noun} {item.name}: {words(item, new)}")
        elif words(was, old) != words(item, new) or was.name != item.name:
            old_words, new_words = words(was, old), words(item, new)
            if old_words == new_words:
                said.append(f"{noun.capitalize()} {was.name}: now called {item.name}")
            else:
                said.append(f"{noun.capitalize()} {item.name}: {old_words} → {new_words}")
        elif was != item:
            said.append(f"{noun.capitalize()} {item.name}: its description changed")
    said.extend(f"{noun.capitalize()} {item.name} removed ({words(item, old)})" for item in before.values())
    return said


def _named(categories, skus) -> str:
    return " or ".join(sorted(categories or ()) + sorted(skus or ()))
