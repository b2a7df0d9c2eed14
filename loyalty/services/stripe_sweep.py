"""Promotion codes made at Stripe for redemptions that never committed are deactivated.

A redemption asks Stripe for its code before it commits. If the transaction then rolls back, the
code is deactivated at once (``redemptions.redeem``); if the process died first, or Stripe failed
that call, the code stays active with no redemption behind it: a discount nobody paid points for.
This sweep finds those by the ``loyalty_redemption_id`` each code carries.
"""

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.models import Redemption
from loyalty.services.sweep import SweepResult


def deactivate_orphan_codes(session: Session, stripe, now: datetime, *, grace: timedelta, lookback: timedelta,
                            batch_size: int = 100) -> SweepResult:
    """Codes made between ``lookback`` and ``grace`` ago whose redemption does not exist; a batch per lookup."""
    result = SweepResult()
    codes = list(stripe.promotion_codes_of_redemptions(now - lookback, now - grace))
    for start in range(0, len(codes), batch_size):
        batch = codes[start:start + batch_size]
        existing = set(session.scalars(select(Redemption.id).where(
            Redemption.id.in_([redemption_id for _, redemption_id in batch]))))
        session.rollback()  # ends the read; nothing is held while Stripe is called
        for code_id, redemption_id in batch:
            if redemption_id not in existing:
                stripe.deactivate_promotion_code(code_id)
                result.done += 1
        result.batches += 1
    return result
