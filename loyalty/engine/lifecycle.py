"""Which customer-lifecycle stage a member is in."""

from datetime import datetime

from .periods import local_time

STAGES = ("enrolled", "first_purchase", "repeat", "advocate", "lapsing", "lapsed")


def lifecycle_stage(
    program,
    purchase_count: int,
    last_purchase_at: datetime | None,
    referrals_earned: int,
    now: datetime,
) -> str:
    """Days since the last purchase are counted on the program's calendar:
    up to repeat_within_days it is recent, up to lapsed_after_days lapsing,
    beyond that lapsed (90 days ago is still repeat, 91 lapsing, 181 lapsed)."""
    if purchase_count <= 0:
        return "enrolled"
    if last_purchase_at is None:
        raise ValueError("a member with purchases needs last_purchase_at")
    tz = program.timezone
    days = (local_time(now, tz).date() - local_time(last_purchase_at, tz).date()).days
    if days > program.lapsed_after_days:
        return "lapsed"
    if days > program.repeat_within_days:
        return "lapsing"
    if purchase_count == 1:
        return "first_purchase"
    return "advocate" if referrals_earned >= 1 else "repeat"
