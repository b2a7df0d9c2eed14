"""A rule's explanation for one event: facts to store, words when read.

An event's explanation is stored as one JSON object, a member per rule that
listens to the event, in the rules' order (JSON text keeps it):

    {"spend": {"matched": true, "points": 12, "code": "rate",
               "args": {"rate": "1", "of": "amount", "amount": 1250}}, ...}

so SQL reads a rule's line by its id (``explanation->'spend'->>'points'``).
Nothing is said twice: an argument that is None is left out (SQL's ``->>``
reads a missing key as NULL too), and so is one the line or the event's own
row already holds: an award's points when they are the line's, its currency
when it is the event's, a window's event type and day (the event's, on the
program's calendar). ``explanation_words`` puts them back from the event.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple, Protocol
from zoneinfo import ZoneInfo

from .reasons import words

#: Codes whose arguments hold the rule's points before caps (the line's own, unless a cap trimmed them)
#: and the currency of the amount they applied to.
_AWARD_CODES = frozenset({"rate", "fixed", "cap_reached"})
#: Codes whose arguments hold the event's type and its day in the program's timezone.
_CALENDAR_CODES = frozenset({"outside_window", "wrong_weekday"})


class Explanation(NamedTuple):
    """`points`: everything the rule awarded for this event (a referral's
    includes the referrer's); `matched`: its window and conditions held;
    `code` and `args`: why, as reasons.py tabulates them.

    A named tuple because an accrual makes one per rule listening to the
    event; the words are built only when asked for.
    """

    rule_id: str
    matched: bool
    points: int
    code: str
    args: dict

    @property
    def reason(self) -> str:
        return words(self.code, self.args)

    def as_dict(self) -> dict:
        """The contract's form, in words."""
        return {"rule_id": self.rule_id, "matched": self.matched, "points": self.points, "reason": self.reason}


class RecordedEvent(Protocol):
    """What reading an explanation needs of its event: an ``EventFacts`` or an ``Event`` row."""

    type: str
    currency: str | None
    occurred_at: datetime


def stored_explanation(lines: list[Explanation], event: RecordedEvent) -> dict:
    """What is stored of an event's explanation: plain JSON facts, no words, nothing twice."""
    stored = {}
    for line in lines:
        implied = _implied_args(line.code, line.points, line.args, event)
        args = {name: value for name, value in line.args.items()
                if value is not None and (name not in implied or implied[name] != value)}
        fact = {"matched": line.matched, "points": line.points, "code": line.code}
        if args:
            fact["args"] = args
        stored[line.rule_id] = fact
    return stored


def explanation_words(stored: Mapping | list, event: RecordedEvent | None) -> list[dict]:
    """A stored explanation in the contract's form (``event`` None: lines that left out nothing).

    Reads the stored object as well as the lists rows kept before it (migration
    0018 converts them): lines of facts with every argument, and lines recorded
    before reason codes, which keep their words.
    """
    lines = stored if isinstance(stored, list) else [{"rule_id": rule_id, **fact} for rule_id, fact in stored.items()]
    return [_line_words(line, event) for line in lines]


def _line_words(fact: Mapping, event: RecordedEvent | None) -> dict:
    code = fact.get("code")
    if code is None:
        reason = fact.get("reason", "")
    else:
        args = _StoredArgs(fact.get("args") or {})
        if event is not None:
            for name, value in _implied_args(code, fact["points"], args, event).items():
                args.setdefault(name, value)
        reason = words(code, args)
    return {"rule_id": fact["rule_id"], "matched": fact["matched"], "points": fact["points"], "reason": reason}


def _implied_args(code: str, points: int, args: Mapping, event: RecordedEvent) -> dict:
    """The arguments of a line that its points and its event say already."""
    if code in _AWARD_CODES:
        if code == "fixed" or args.get("award") == "fixed":
            return {"points": points}
        return {"points": points, "currency": event.currency}
    timezone = args.get("timezone")
    if code in _CALENDAR_CODES and isinstance(timezone, str):
        try:
            day = event.occurred_at.astimezone(ZoneInfo(timezone)).date().isoformat()
        except (ValueError, KeyError):  # a zone this machine does not know: stored as it is
            return {"event_type": event.type}
        return {"event_type": event.type, "day": day}
    return {}


class _StoredArgs(dict):
    """A stored line's arguments: one left out was None."""

    def __missing__(self, name):
        return None
