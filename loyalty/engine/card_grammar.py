"""The `cards:` section of the YAML, checked and compiled.

    cards:
      - id: coffee-card
        name: Coffee card
        stamp:
          where: {category: coffee}   # at least one such item, whatever the quantity
          min_amount: 1               # minor units; a purchase of 0 never stamps
          per: day                    # at most one stamp a program day (or: visit)
        stamps: 9
        reward: free-drink            # issued at no point cost; or points: 100
        expires: {inactive_days: 180} # optional: stamps lapse after that long without one
                                      # or {after_days: 90}: each stamp lapses that long after its own
"""

from .cards import STAMP_PERIODS, Card
from .checker import Checker, id_node
from .rule_grammar import RULE_ID, item_filters

KEYS = ("id", "name", "description", "stamp", "stamps", "reward", "points", "expires")
STAMP_KEYS = ("where", "min_amount", "per")
EXPIRES = ("inactive_days", "after_days")


def read_cards(c: Checker, node, rewards: dict, rule_ids: set[str]) -> tuple[Card, ...] | None:
    """``rewards``: the catalog by id (None when it did not compile); ``rule_ids``: the earning rules',
    which a card's id may not take (an event's explanation is keyed by both)."""
    items = c.sequence(node, "cards")
    if items is None:
        return None
    cards: list[Card] = []
    ok = True
    for i, item in enumerate(items):
        card = _card(c, item, f"cards[{i}]", rewards)
        if card is None:
            ok = False
        elif card.id in {other.id for other in cards} or card.id in rule_ids:
            what = "a card" if card.id not in rule_ids else "a rule"
            c.error(id_node(item), f"cards[{i}].id", f"id '{card.id}' is already used by {what}")
            ok = False
        else:
            cards.append(card)
    return tuple(cards) if ok else None


def _card(c: Checker, node, path: str, rewards: dict | None) -> Card | None:
    keys = c.mapping(node, path, KEYS, required=("id", "name", "stamp", "stamps"))
    if keys is None or not {"id", "name", "stamp", "stamps"} <= set(keys):
        return None
    before = len(c.errors)
    card_id = c.text(keys["id"], f"{path}.id", RULE_ID, "an id of letters, digits, - and _")
    name = c.text(keys["name"], f"{path}.name")
    description = c.text(keys["description"], f"{path}.description") if "description" in keys else ""
    stamps = c.integer(keys["stamps"], f"{path}.stamps", 2, "a whole number of stamps")
    stamp = _stamp(c, keys["stamp"], f"{path}.stamp")
    reward_id, points = _completion(c, node, keys, path, rewards)
    expiry = _expires(c, keys["expires"], f"{path}.expires") if "expires" in keys else {}
    if len(c.errors) > before or stamp is None or expiry is None:
        return None
    filters, min_amount, per = stamp
    return Card(id=card_id, name=name, description=description, stamps=stamps,
                categories=filters.get("category"), skus=filters.get("sku"), min_amount=min_amount, per=per,
                reward_id=reward_id, points=points, **expiry)


def _expires(c: Checker, node, path: str) -> dict | None:
    """``{inactive_days: N}`` or ``{after_days: N}``, exactly one."""
    keys = c.mapping(node, path, EXPIRES)
    if keys is None:
        return None
    if len(keys) != 1:
        c.error(node, path, "give exactly one of 'inactive_days' (after that long without a stamp) or "
                            "'after_days' (each stamp, that long after it was given)")
        return None
    [(key, value)] = keys.items()
    days = c.integer(value, f"{path}.{key}", 1)
    return None if days is None else {key: days}


def _stamp(c: Checker, node, path: str):
    keys = c.mapping(node, path, STAMP_KEYS)
    if keys is None:
        return None
    filters = item_filters(c, keys["where"], f"{path}.where") if "where" in keys else {}
    min_amount = c.integer(keys["min_amount"], f"{path}.min_amount", 1) if "min_amount" in keys else 1
    per = c.choice(keys["per"], f"{path}.per", STAMP_PERIODS) if "per" in keys else "day"
    if filters is None or min_amount is None or per is None:
        return None
    return filters, min_amount, per


def _completion(c: Checker, node, keys: dict, path: str, rewards: dict | None):
    """(reward id, points): what completing the card gives, exactly one of the two."""
    if ("reward" in keys) == ("points" in keys):
        c.error(node, path, "give exactly one of 'reward' (a reward id from the catalog) or 'points'")
        return None, None
    if "points" in keys:
        return None, c.integer(keys["points"], f"{path}.points", 1)
    reward_id = c.text(keys["reward"], f"{path}.reward")
    if reward_id is None or rewards is None:
        return reward_id, None
    # A reward missing from the catalog is not an error: taking a reward out of the catalog must stay
    # possible while a card names it (the codes a card issues then say the card's reward id).
    reward = rewards.get(reward_id)
    if reward is None:
        return reward_id, None
    if reward.stock is not None:
        c.error(keys["reward"], f"{path}.reward",
                f"'{reward_id}' has a stock of {reward.stock}; a card's reward must be one without stock")
    elif reward.stripe:
        c.error(keys["reward"], f"{path}.reward",
                f"'{reward_id}' is issued through Stripe; a card's reward must be one the service issues itself")
    return reward_id, None
