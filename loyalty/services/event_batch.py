"""A batch of events: each accrued exactly as if posted alone, one failing writing nothing.

The batch runs in the caller's one write transaction. Its members (and their
referrers, whom a purchase may credit) are locked once, in id order, so two
batches touching the same members queue instead of deadlocking. Each event
goes through ``accrual.apply_event``.

Events are checked before any is applied (fields, member, a source_id
recorded before or earlier in the batch), so one that fails when applied is
rare: a source_id recorded meanwhile by a racing request. So the batch runs
under one SAVEPOINT; if an event fails the whole run rolls back to it and
runs again with a SAVEPOINT per event, the failed one alone writing nothing.
A SAVEPOINT per event from the start would flush the members after each
event and cost two more statements an event (see docs/batches.md).

What the events insert is held and written a table at a time
(``db.held_rows``); a member's held rows, stamps and progress are written
before its next event reads them.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loyalty import outbox
from loyalty.db import held_rows
from loyalty.db.transactions import lock_members
from loyalty.errors import IdempotencyConflict, LoyaltyError, MemberInactive, NotFound, ValidationFailed
from loyalty.models import Event, Member
from loyalty.services import counters, identity
from loyalty.services.accrual import EventInput, EventOutcome, apply_event, check_event
from loyalty.services.carried_points import record_carried
from loyalty.services.rules import ActiveRules

MAX_EVENTS = 1000


@dataclass(frozen=True)
class BatchItem:
    """One event as sent: its input, or the error its parsing gave."""

    index: int
    data: EventInput | None = None
    error: LoyaltyError | None = None
    points: int | None = None  # the previous program's figure, taken as it is (``carried_points``)


@dataclass(frozen=True)
class BatchResult:
    index: int
    outcome: EventOutcome | None = None
    error: LoyaltyError | None = None

    @property
    def status(self) -> int:
        return 201 if self.error is None else self.error.status


@dataclass(frozen=True)
class _Checked:
    index: int
    data: EventInput
    occurred_at: datetime
    rules: ActiveRules
    points: int | None


def record_batch(session: Session, rules: ActiveRules, items: list[BatchItem], actor: str | None,
                 now: datetime, *, history: Callable[[datetime], ActiveRules] | None = None) -> list[BatchResult]:
    """Accrue each event, a member's in ``occurred_at`` order (ties: the order sent); results in the order sent.

    With ``history`` (``rules.rules_active_at``) the events are history being imported: each is
    judged by the rules active at its ``occurred_at``, however long ago, and accrued as at that
    moment (tiers move then, lots expire from then), sending no webhooks.
    """
    results: dict[int, BatchResult] = {}
    checked: list[_Checked] = []
    for item in items:
        try:
            if item.error is not None:
                raise item.error
            if item.data.source_id is None:
                raise ValidationFailed({"source_id": ["required for each event of a batch"]})
            its_rules = rules if history is None else history(item.data.occurred_at or now)
            occurred_at = check_event(its_rules, item.data, now, historical=history is not None)
            checked.append(_Checked(item.index, item.data, occurred_at, its_rules, item.points))
        except LoyaltyError as error:
            results[item.index] = BatchResult(item.index, error=error)
    member_ids = _member_ids(session, [c.data for c in checked])
    members = _lock_with_referrers(session, set(member_ids.values()))
    recorded = _recorded_source_ids(session, [c.data.source_id for c in checked])
    in_order = sorted(checked, key=lambda c: (c.occurred_at, c.index))
    endpoints = outbox.subscribed_endpoints(session) if history is None else []
    run = _Run(session, members, member_ids, actor, None if history else now, endpoints)
    try:
        with session.begin_nested(), held_rows.holding(session):
            results.update(run.accrue(in_order, set(recorded), each_apart=False))
    except (_EventFailed, IntegrityError):  # IntegrityError: a held row, once written
        session.info.pop(counters.QUALIFYING_TOTALS, None)  # totals it remembered count what was rolled back
        results.update(run.accrue(in_order, set(recorded), each_apart=True))
    return [results[item.index] for item in items]


class _EventFailed(Exception):
    """An event failed after its checks passed (a source_id recorded meanwhile by another request)."""


@dataclass
class _Run:
    session: Session
    members: dict[str, Member]
    member_ids: dict[tuple[str, str], str]
    actor: str | None
    now: datetime | None  # None: each event's own occurred_at (history)
    endpoints: list

    def accrue(self, events: list[_Checked], recorded: set[str], each_apart: bool) -> dict[int, BatchResult]:
        """Accrue ``events`` in order. Each under its own SAVEPOINT if ``each_apart``; else all in
        the caller's, which the first event failing in ``apply_event`` rolls back (``_EventFailed``)."""
        results = {}
        for event in events:
            try:
                member = _member(self.members, self.member_ids, event.data)
                if event.data.source_id in recorded:
                    raise IdempotencyConflict(
                        f"An event with source_id {event.data.source_id!r} is already recorded.",
                        {"source_id": event.data.source_id})
                if self._reads_held_rows(member):
                    held_rows.write(self.session)
                    self.session.flush()  # its stamps and progress, which accrual reads without autoflush
                results[event.index] = BatchResult(event.index, outcome=self._apply(event, member, each_apart))
            except LoyaltyError as error:
                results[event.index] = BatchResult(event.index, error=error)
                if not isinstance(error, IdempotencyConflict):
                    continue
            recorded.add(event.data.source_id)
        return results

    def _reads_held_rows(self, member: Member) -> bool:
        """Whether accruing for ``member`` would read rows still held: its own, or its referrer's
        (a merged referrer's survivor is not known here, so then always)."""
        referrer = self.members.get(member.referred_by_id) if member.referred_by_id else None
        if member.referred_by_id and (referrer is None or referrer.merged_into_id is not None):
            return True
        return held_rows.holds(self.session, (member.id, member.referred_by_id))

    def _apply(self, event: _Checked, member: Member, each_apart: bool) -> EventOutcome:
        def apply():
            now = self.now or event.occurred_at
            if event.points is not None:
                return record_carried(self.session, event.rules, member, event.data, event.occurred_at,
                                      event.points, self.actor, now)
            return apply_event(self.session, event.rules, member, event.data, event.occurred_at, self.actor,
                               now, locked=self.members, endpoints=self.endpoints)

        if each_apart:
            with self.session.begin_nested():
                return apply()
        try:
            return apply()
        except LoyaltyError as error:
            raise _EventFailed() from error


def _member_ids(session: Session, events: list[EventInput]) -> dict[tuple[str, str], str]:
    """(``"id"`` or ``"external"``, the value sent) → the id of the member it means now, for those that exist:
    a merged member's events go to the member it was merged into, as when posted alone."""
    sent = {("id", e.member_id) if e.member_id else ("external", e.external_id) for e in events}
    ids = [value for kind, value in sent if kind == "id"]
    external = [value for kind, value in sent if kind == "external"]
    found, merged = {}, {}
    if ids:
        for member_id, merged_into in session.execute(
                select(Member.id, Member.merged_into_id).where(Member.id.in_(ids))):
            found[("id", member_id)] = member_id
            if merged_into is not None:
                merged[("id", member_id)] = member_id
    if external:
        for member_id, external_id, merged_into in session.execute(
                select(Member.id, Member.external_id, Member.merged_into_id).where(Member.external_id.in_(external))):
            found[("external", external_id)] = member_id
            if merged_into is not None:
                merged[("external", external_id)] = member_id
        for external_id in set(external) - {value for kind, value in found if kind == "external"}:
            alias = identity.aliased(session, "external_id", external_id)
            if alias is not None:
                found[("external", external_id)] = merged[("external", external_id)] = alias
    for key, member_id in merged.items():
        found[key] = identity.current_id(session, member_id)
    return found


def _lock_with_referrers(session: Session, member_ids: set[str]) -> dict[str, Member]:
    """Lock the members and their referrers in one statement (in id order: no deadlock with another batch)."""
    if not member_ids:
        return {}
    referrers = set(session.scalars(select(Member.referred_by_id).where(
        Member.id.in_(member_ids), Member.referred_by_id.is_not(None))))
    return lock_members(session, member_ids | referrers)


def _recorded_source_ids(session: Session, source_ids: list[str]) -> set[str]:
    if not source_ids:
        return set()
    return set(session.scalars(select(Event.source_id).where(Event.source_id.in_(source_ids))))


def _member(members: dict[str, Member], member_ids: dict[tuple[str, str], str], data: EventInput) -> Member:
    key = ("id", data.member_id) if data.member_id else ("external", data.external_id)
    member = members.get(member_ids.get(key))
    if member is None:
        raise NotFound("No member with that id." if data.member_id
                       else f"No member with external_id {data.external_id!r}.")
    if member.status != "active":
        raise MemberInactive(f"Member {member.id} is {member.status}.")
    return member
