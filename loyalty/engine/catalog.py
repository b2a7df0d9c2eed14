"""What a rules editor may offer: actions, fields, operators, periods."""

from .cards import STAMP_PERIODS
from .challenges import GOALS
from .conditions import OPERATORS
from .periods import DAY_NAMES, PERIODS
from .streaks import STREAK_PERIODS

FIELD_DESCRIPTIONS = {
    "amount": ("money", "the purchase amount, in minor units (1000 is $10.00)"),
    "currency": ("text", "ISO 4217 code of the amount"),
    "store_id": ("text", "the store the event happened in"),
    "channel": ("text", "where it happened, e.g. pos or web"),
    "member.tier": ("tier", "the member's tier before the event; ordering follows the tiers"),
    "attributes.<name>": ("any", "a value the event carries in its attributes"),
}


def catalog(program) -> dict:
    return {
        "actions": sorted(program.actions),
        "fields": [
            {"name": name, "type": kind, "description": text}
            for name, (kind, text) in FIELD_DESCRIPTIONS.items()
        ],
        "operators": [{"name": name, "reads": words} for name, words in OPERATORS.items()],
        "periods": list(PERIODS),
        "days_of_week": list(DAY_NAMES),
        "award_kinds": ["points", "points_per_dollar"],
        "award_of": ["amount", "items"],
        "item_filters": ["category", "sku"],
        "tiers": [tier.id for tier in program.tiers],
        "rewards": [reward.id for reward in program.rewards],
        "cards": [{"id": card.id, "name": card.name, "stamps": card.stamps} for card in program.cards],
        "badges": [{"id": b.id, "name": b.name, "image": b.image} for b in program.badges],
        "challenges": [{"id": c.id, "name": c.name, "on": c.on, "goal": c.goal, "of": c.target}
                       for c in program.challenges],
        "challenge_keys": {"goal": list(GOALS), "within": [p for p in PERIODS if p != "member"] + ["days"],
                           "award": ["points", "badge"], "repeat": [False, True]},
        "streaks": [{"id": s.id, "name": s.name, "on": s.on, "period": s.period, "length": s.length}
                    for s in program.streaks],
        "streak_keys": {"period": list(STREAK_PERIODS), "where": ["category", "sku"], "award": ["points", "badge"],
                        "optional": ["description", "on", "where", "min_amount", "grace", "repeat"]},
        "card_keys": {
            "stamp": ["where", "min_amount", "per"],
            "stamp_per": list(STAMP_PERIODS),
            "completes_with": ["reward", "points"],
            "expires": ["inactive_days", "after_days"],
        },
    }
