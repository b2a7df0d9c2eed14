"""The demo program's arithmetic, written again from docs/demo-program.md, as simply as possible.

Nothing here imports the service: it is an independent second implementation
that the stateful tests feed the same actions as the service, and whose
balances, lots and tiers must agree with the service's exactly.
"""

import calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
TIERS = [("member", 0, Fraction(1)), ("silver", 500, Fraction(5, 4)), ("gold", 1500, Fraction(3, 2))]
HOLD = timedelta(days=365)
HOLIDAY_FROM, HOLIDAY_TO = date(2026, 12, 20), date(2026, 12, 26)  # one year only, not every December
DAILY_CAP = 2000
REWARD_COSTS = {"free-drink": 150, "five-off": 500, "ten-percent": 800, "gold-tumbler": 1000}
REWARD_TIERS = {"ten-percent": {"silver", "gold"}, "gold-tumbler": {"gold"}}
CODE_VALID = timedelta(days=30)


def ny_day(moment: datetime) -> date:
    return moment.astimezone(NEW_YORK).date()


def twelve_months_later(moment: datetime) -> datetime:
    """Same New York wall-clock time 12 months on; a missing day becomes the month's last."""
    local = moment.astimezone(NEW_YORK)
    year = local.year + 1
    day = min(local.day, calendar.monthrange(year, local.month)[1])
    return local.replace(year=year, day=day).astimezone(UTC)


def multiplier(tier: str) -> Fraction:
    return next(m for name, _, m in TIERS if name == tier)


def tier_for(qualifying: int) -> str:
    return [name for name, threshold, _ in TIERS if qualifying >= threshold][-1]


def rank(tier: str) -> int:
    return [name for name, _, _ in TIERS].index(tier)


@dataclass
class Lot:
    id: int
    points: int
    remaining: int
    expires_at: datetime
    event: str | None


@dataclass
class Purchase:
    amount: int
    points: int  # what spend, coffee-bonus and holiday-double gave: refunds reverse these
    day: date
    refunded: int = 0
    reversed: int = 0


@dataclass
class Redemption:
    member: str
    cost: int
    issued_at: datetime
    draws: list  # (lot, points)
    status: str = "issued"


@dataclass
class Member:
    id: str
    balance: int = 0
    lots: list = field(default_factory=list)
    tier: str = "member"
    tier_expires_at: datetime | None = None
    qualifying: dict = field(default_factory=dict)  # New York day → points
    capped: dict = field(default_factory=dict)  # New York day → purchase points so far
    reviews: dict = field(default_factory=dict)  # (year, month) → count
    birthdays: set = field(default_factory=set)  # years


class Program:
    def __init__(self):
        self.members: dict[str, Member] = {}
        self.purchases: dict[str, Purchase] = {}
        self.redemptions: dict[str, Redemption] = {}
        self._lot_ids = 0

    # ------------------------------------------------------------------ earning

    def enroll(self, member_id: str, now: datetime, email_opt_in: bool) -> int:
        member = self.members[member_id] = Member(member_id)
        self._credit(member, 50, now, None)
        if email_opt_in:
            self._credit(member, 100, now, None)
        return member.balance

    def purchase(self, member_id: str, event_id: str, amount: int, coffee: int, now: datetime) -> int:
        member = self.members[member_id]
        rate = multiplier(member.tier)
        day = ny_day(now)
        wanted = [amount * rate // 100, coffee * rate // 100]
        if HOLIDAY_FROM <= day <= HOLIDAY_TO:
            wanted.append(amount * rate // 100)
        room = DAILY_CAP - member.capped.get(day, 0)
        points = 0
        for want in wanted:
            got = min(int(want), room)
            room -= got
            points += got
            if got:
                self._credit(member, got, now, event_id)
        member.capped[day] = DAILY_CAP - room
        self.purchases[event_id] = Purchase(amount, points, day)
        if points:
            member.qualifying[day] = member.qualifying.get(day, 0) + points
            self._upgrade(member, now)
        return points

    def review(self, member_id: str, now: datetime) -> int:
        member = self.members[member_id]
        local = now.astimezone(NEW_YORK)
        month = (local.year, local.month)
        if member.reviews.get(month, 0) >= 3:
            return 0
        member.reviews[month] = member.reviews.get(month, 0) + 1
        self._credit(member, 25, now, None)
        return 25

    def birthday(self, member_id: str, now: datetime) -> int:
        member = self.members[member_id]
        year = now.astimezone(NEW_YORK).year
        if year in member.birthdays:
            return 0
        member.birthdays.add(year)
        self._credit(member, 200, now, None)
        return 200

    # ------------------------------------------------------------------ taking back

    def refund(self, event_id: str, member_id: str, amount: int, now: datetime) -> int | None:
        """Points reversed, or None when the refund exceeds what was paid."""
        bought = self.purchases[event_id]
        if bought.refunded + amount > bought.amount:
            return None
        bought.refunded += amount
        total = bought.points * bought.refunded // bought.amount if bought.amount else 0
        reverse = total - bought.reversed
        bought.reversed = total
        if reverse:
            member = self.members[member_id]
            self._debit(member, reverse, now, prefer_event=event_id, allow_negative=True)
            member.qualifying[bought.day] = member.qualifying.get(bought.day, 0) - reverse
        return reverse

    def adjust(self, member_id: str, points: int, now: datetime) -> None:
        member = self.members[member_id]
        if points > 0:
            self._credit(member, points, now, None)
        else:
            self._debit(member, -points, now, prefer_event=None, allow_negative=True)

    def redeem(self, member_id: str, redemption_key: str, reward: str, now: datetime) -> str:
        """'issued', 'insufficient_points' or 'reward_unavailable'."""
        member = self.members[member_id]
        if reward in REWARD_TIERS and member.tier not in REWARD_TIERS[reward]:
            return "reward_unavailable"
        cost = REWARD_COSTS[reward]
        if self.spendable(member_id, now) < cost:
            return "insufficient_points"
        draws = self._debit(member, cost, now, prefer_event=None, allow_negative=False)
        self.redemptions[redemption_key] = Redemption(member_id, cost, now, draws)
        return "issued"

    def void(self, redemption_key: str, now: datetime) -> bool:
        redemption = self.redemptions[redemption_key]
        expired = redemption.status == "issued" and now >= redemption.issued_at + CODE_VALID
        if redemption.status not in ("issued", "completed") or expired:
            return False
        member = self.members[redemption.member]
        member.balance += redemption.cost
        room = max(0, member.balance) - sum(lot.remaining for lot in member.lots)
        for lot, points in sorted(redemption.draws, key=lambda d: (d[0].expires_at, d[0].id)):
            back = min(points, room)
            if back <= 0:
                break
            lot.remaining += back
            room -= back
        redemption.status = "voided"
        return True

    # ------------------------------------------------------------------ time

    def expire(self, now: datetime) -> None:
        for member in self.members.values():
            for lot in member.lots:
                if lot.expires_at <= now and lot.remaining:
                    member.balance -= lot.remaining
                    lot.remaining = 0

    def review_tiers(self, now: datetime) -> None:
        """Each hold that ended by `now` is re-evaluated on the trailing 365 days ending where it ended."""
        for member in self.members.values():
            while member.tier_expires_at is not None and member.tier_expires_at <= now:
                ended = member.tier_expires_at
                target = tier_for(self.qualifying(member, ended))
                member.tier = target
                member.tier_expires_at = None if target == "member" else ended + HOLD

    def qualifying(self, member: Member, at: datetime) -> int:
        today = ny_day(at)
        first = today - timedelta(days=364)
        return sum(points for day, points in member.qualifying.items() if first <= day <= today)

    # ------------------------------------------------------------------ reading

    def spendable(self, member_id: str, now: datetime) -> int:
        return sum(lot.remaining for lot in self.members[member_id].lots if lot.expires_at > now)

    # ------------------------------------------------------------------ the ledger's mechanics

    def _credit(self, member: Member, points: int, now: datetime, event: str | None) -> None:
        member.balance += points
        self._lot_ids += 1
        member.lots.append(Lot(self._lot_ids, points, min(points, max(0, member.balance)),
                               twelve_months_later(now), event))

    def _debit(self, member: Member, points: int, now: datetime, prefer_event: str | None,
               allow_negative: bool) -> list:
        member.balance -= points
        lots = sorted((lot for lot in member.lots if lot.remaining > 0),
                      key=lambda lot: (lot.expires_at, lot.id))
        lots.sort(key=lambda lot: (lot.event != prefer_event if prefer_event else False,
                                   lot.expires_at <= now))
        if not allow_negative:
            lots = [lot for lot in lots if lot.expires_at > now]
        draws, left = [], points
        for lot in lots:
            if not left:
                break
            take = min(left, lot.remaining)
            lot.remaining -= take
            left -= take
            draws.append((lot, take))
        return draws

    def _upgrade(self, member: Member, now: datetime) -> None:
        target = tier_for(self.qualifying(member, now))
        if rank(target) > rank(member.tier):
            member.tier = target
            member.tier_expires_at = now + HOLD
