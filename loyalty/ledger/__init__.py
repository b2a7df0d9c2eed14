"""The only code that changes points: entries, lots, lot draws and a member's point totals.

Services call it inside a write transaction, holding the member's lock;
it calls nothing above it.
"""

from loyalty.ledger.credits import Credit, Credited, credit, open_balances
from loyalty.ledger.debits import debit, restore, spendable_points
from loyalty.ledger.entries import WRITTEN_ENTRIES, Posting
from loyalty.ledger.expiry import Expired, bring_expiry_forward, expire_due, redate
from loyalty.ledger.moves import Moved, merge_points, transfer_points
from loyalty.ledger.pending import release, take_back_pending
from loyalty.ledger.verify import verify_ledger

__all__ = ["WRITTEN_ENTRIES", "Credit", "Credited", "Expired", "Moved", "Posting", "bring_expiry_forward",
           "credit", "debit", "expire_due", "merge_points", "open_balances", "redate", "release", "restore",
           "spendable_points", "take_back_pending", "transfer_points", "verify_ledger"]
