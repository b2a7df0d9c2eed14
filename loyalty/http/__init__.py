"""HTTP concerns beside the API: authentication, idempotency keys, rate limits."""
