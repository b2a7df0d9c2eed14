"""Flask commands: keys, rules, ledger, members, dev helpers and the scheduled jobs."""
