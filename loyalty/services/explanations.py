"""How an event's explanation is stored: deflated against its rules version's own dictionary.

An explanation is the engine's reason for every rule listening to the event,
600–700 bytes of JSON that repeat, event after event, the program's own rule
ids, categories, tier names, dates and wording. Deflated against the engine's
generic wording (``types.DICTIONARY``) it still takes about 140 bytes, the
biggest column of the biggest row an accrual writes. Against the lines its
own program writes it takes about 25: when a version is published, the
explanations of a few sample events under it become its dictionary, stored
with the version. The dictionary is stored, never rebuilt, because the
engine's wording may change and a stored explanation may not.

Stored values say how they were packed in their first byte: ``VERSION_DEFLATE``
(against the event's rules version's dictionary), or one of the formats
``types.unpack_json`` reads (versions published before dictionaries, and
older rows).
"""

import hashlib
import json
from datetime import datetime

from loyalty.db.types import DICTIONARY, compact_json, deflate, inflate, pack_json, unpack_json
from loyalty.engine import EventFacts, Item, MemberFacts, Program, evaluate

VERSION_DEFLATE = b"\x02"
#: Deflate looks back at most this far, so a longer dictionary would only carry dead weight.
MAX_DICTIONARY = 32 * 1024
SAMPLE_AMOUNT = 1250
SAMPLE_ITEM = {"quantity": 2, "unit_amount": 450}


class DictionaryMissing(LookupError):
    """A value packed against a rules version's dictionary, read without that dictionary."""


def build_dictionary(program: Program, at: datetime) -> bytes:
    """The explanations ``program`` gives sample events at ``at``, after the generic wording.

    Each action once with its limits and caps used up, then once more as
    new; purchases with an item of every category and sku the rules name,
    for every tier, the base tier last (the most frequent nearest the data,
    where deflate finds it cheapest).
    """
    base = program.base_tier.id
    purchase = EventFacts(type="purchase", occurred_at=at, amount=SAMPLE_AMOUNT, currency=program.currency,
                          items=_sample_items(program))
    events = [EventFacts(type=action, occurred_at=at) for action in sorted(program.actions - {"purchase"})]
    events.append(purchase)
    samples = [_explain(program, event, base, used_up=True) for event in events]
    samples += [_explain(program, event, base) for event in events[:-1]]
    samples += [_explain(program, purchase, tier.id) for tier in reversed(program.tiers)]
    return (DICTIONARY + b"".join(compact_json(lines) for lines in samples))[-MAX_DICTIONARY:]


def digest(dictionary: bytes) -> str:
    return hashlib.sha256(dictionary).hexdigest()


def pack(lines: list[dict], dictionary: bytes | None) -> bytes:
    """``lines`` as stored: against ``dictionary`` (the event's rules version's), if it has one."""
    if dictionary is None:
        return pack_json(lines)
    return deflate(compact_json(lines), dictionary, VERSION_DEFLATE)


def needs_dictionary(packed: bytes) -> bool:
    return bytes(packed[:1]) == VERSION_DEFLATE


def unpack(packed: bytes, dictionary: bytes | None) -> list[dict]:
    """What ``pack`` stored; ``dictionary`` is the event's rules version's (None if it has none)."""
    packed = bytes(packed)
    if not needs_dictionary(packed):
        return unpack_json(packed)
    if dictionary is None:
        raise DictionaryMissing("this explanation was packed against its rules version's dictionary")
    return json.loads(inflate(packed[1:], dictionary))


def _explain(program: Program, event: EventFacts, tier_id: str, used_up: bool = False) -> list[dict]:
    usage = _used_up(program, event) if used_up else {}
    member = MemberFacts(member_id="mem_", tier_id=tier_id, usage=usage)
    return [line.as_dict() for line in evaluate(program, event, member).explanation]


def _used_up(program: Program, event: EventFacts) -> dict[tuple[str, str], int]:
    """Every limit and cap the event's rules have, exactly reached."""
    most = {}
    for rule in program.by_action.get(event.type, ()):
        if rule.limit:
            most[rule.counter] = rule.limit.count
        most.update((cap.counter, cap.max_points) for cap in rule.caps)
    keys = program.usage_keys(event.type, event.occurred_at).member
    return {(counter, period): most[counter] for counter, period in keys}


def _sample_items(program: Program) -> tuple[Item, ...]:
    items = {}
    for rule in program.rules:
        award = rule.award
        for category in sorted(getattr(award, "categories", None) or ()):
            items[(None, category)] = Item(sku=None, category=category, **SAMPLE_ITEM)
        for sku in sorted(getattr(award, "skus", None) or ()):
            items[(sku, None)] = Item(sku=sku, category=None, **SAMPLE_ITEM)
    return tuple(items.values())
