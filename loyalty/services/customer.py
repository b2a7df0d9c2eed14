"""A member's own view of their account, as the customer widget shows it."""

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.engine import Program
from loyalty.errors import MemberInactive, NotFound, Unauthorized
from loyalty.models import Event, LedgerEntry, Member
from loyalty.services import identity, widget_tokens
from loyalty.services.events import explanations_of

ENTRY_WORDS = {
    "redeem": "Redeemed a reward",
    "void": "Redemption cancelled: points returned",
    "reverse": "Points taken back for a refund",
    "expire": "Points expired",
    "adjust": "Points adjusted",
}
#: Points that moved between members: (words when they left, words when they arrived).
MOVED_WORDS = {
    "merge": ("Points moved to your other account", "Points moved from your other account"),
    "transfer": ("Points given to another member", "Points received from another member"),
}


def issue_token(session: Session, secret: str, member_id: str, ttl: timedelta,
                now: datetime) -> widget_tokens.WidgetToken:
    """A widget token for a member who can still sign in (suspended members may look, not spend)."""
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"No member {member_id}.")
    if member.merged_into_id is not None:  # the customer's account is the one it was merged into
        member = session.get(Member, identity.current_id(session, member.id))
    if member.status == "erased":
        raise MemberInactive(f"Member {member_id} is erased.")
    return widget_tokens.issue(secret, member.id, now, ttl)


def signed_in_member(session: Session, member_id: str) -> Member:
    """The member a verified token names (or the member it was merged into); an erased (or vanished)
    member's tokens are dead."""
    member = session.get(Member, member_id)
    if member is not None and member.merged_into_id is not None:
        member = session.get(Member, identity.current_id(session, member.id))
    if member is None or member.status == "erased":
        raise Unauthorized("This membership is closed; please sign in again.", {"reason": "member_erased"})
    return member


def activity(session: Session, program: Program, member_id: str, entries: list[LedgerEntry]) -> list[dict]:
    """Ledger entries with a plain-language ``description`` and, where the rules explained the
    award, the explanation's ``detail`` ("1 point per $1 on $12.50 = 12 points")."""
    event_ids = {entry.event_id for entry in entries if entry.event_id}
    events, explained = {}, {}
    if event_ids:
        events = {event.id: event for event in session.scalars(select(Event).where(Event.id.in_(event_ids)))}
        explained = explanations_of(events.values())
    return [_with_words(program, member_id, entry, events.get(entry.event_id), explained.get(entry.event_id))
            for entry in entries]


def _with_words(program: Program, member_id: str, entry: LedgerEntry, event: Event | None,
                explanation: list[dict] | None) -> dict:
    row = {column: getattr(entry, column) for column in (
        "id", "type", "points", "balance_after", "rule_id", "event_id", "redemption_id", "reason",
        "actor", "rules_version", "created_at", "expires_at")}
    description, detail = ENTRY_WORDS.get(entry.type, entry.type), None
    if entry.type == "earn":
        description, detail = _earn_words(program, member_id, entry, event, explanation)
    elif entry.type == "redeem" and entry.reason:
        description = entry.reason
    elif entry.type == "adjust":
        detail = entry.reason
    elif entry.type in MOVED_WORDS:
        description = MOVED_WORDS[entry.type][entry.points > 0]
        if entry.type == "transfer" and entry.reason and ": " in entry.reason:
            detail = entry.reason.split(": ", 1)[1]  # the note given with it
    row["description"] = description
    row["detail"] = detail
    row["occurred_at"] = event.occurred_at if event is not None else entry.created_at
    return row


def _earn_words(program: Program, member_id: str, entry: LedgerEntry, event: Event | None,
                explanation: list[dict] | None):
    rule = _rule(program, entry.rule_id)
    if rule is not None and rule.description:
        description = rule.description
    elif entry.rule_id:
        description = entry.rule_id.replace("-", " ").replace("_", " ").capitalize()
    else:
        description = "Points earned"
    # Only the member's own events, and no referral lines: those name the other member.
    if event is None or event.member_id != member_id or (rule is not None and rule.referral is not None):
        return description, None
    reason = next((line.get("reason") for line in explanation or ()
                   if line.get("rule_id") == entry.rule_id and line.get("matched")), None)
    return description, reason


def _rule(program: Program, rule_id: str | None):
    try:
        return program.rule(rule_id) if rule_id else None
    except KeyError:
        return None
