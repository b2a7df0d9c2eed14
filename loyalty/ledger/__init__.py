"""The only code that changes points: entries, lots, lot draws and a member's point totals."""

from loyalty.ledger.entries import (
    WRITTEN_ENTRIES,
    Credit,
    Expired,
    Posting,
    credit,
    debit,
    expire_due,
    open_balances,
    restore,
    spendable_points,
    write_entries_and_lots,
)

__all__ = ["WRITTEN_ENTRIES", "Credit", "Expired", "Posting", "credit", "debit", "expire_due", "open_balances",
           "restore", "spendable_points", "write_entries_and_lots"]
