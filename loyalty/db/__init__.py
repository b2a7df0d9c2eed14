"""Database plumbing: transactions and locks, column types, batch SQL, cursors."""
