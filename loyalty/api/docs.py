"""OpenAPI documentation of the error answers each operation can give."""

from loyalty.api.schemas import ErrorSchema

DESCRIPTIONS = {
    400: "bad_request: malformed JSON or a missing/invalid Idempotency-Key",
    401: "unauthorized: no or unknown credentials",
    403: "forbidden: the key lacks the scope",
    404: "not_found: unknown id",
    410: "member_merged: the member was merged into another, named in details.merged_into",
    409: "member_exists, member_inactive, insufficient_points, reward_unavailable, idempotency_conflict "
         "or invalid_state",
    413: "payload_too_large: the body exceeds the limit, named in details.limit_bytes",
    415: "bad_request: a body that is not sent as Content-Type: application/json",
    429: "rate_limited: too many requests for this API key, widget token or address; see Retry-After",
    502: "payment_provider_error: Stripe failed or timed out; nothing was changed",
}


def error_responses(blp, *statuses: int):
    """Document the contract's error shape for each status an operation can answer."""

    def decorate(view):
        takes_a_body = {415} if 413 in statuses else set()
        for status in sorted({401, 403, 429, *statuses, *takes_a_body}):
            view = blp.alt_response(status, schema=ErrorSchema, description=DESCRIPTIONS[status])(view)
        return view

    return decorate
