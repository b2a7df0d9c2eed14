"""A rule's explanation for one event: facts to store, words when read."""

from collections.abc import Mapping
from typing import NamedTuple

from .reasons import words


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

    def facts(self) -> dict:
        """What is stored: JSON as it is, no words."""
        return {"rule_id": self.rule_id, "matched": self.matched, "points": self.points, "code": self.code,
                "args": self.args}


def explanation_words(fact: Mapping) -> dict:
    """A stored line in the contract's form; a line stored in words, before codes, keeps its words."""
    code = fact.get("code")
    reason = fact.get("reason", "") if code is None else words(code, fact.get("args") or {})
    return {"rule_id": fact["rule_id"], "matched": fact["matched"], "points": fact["points"], "reason": reason}
