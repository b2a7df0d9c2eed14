"""Domain errors and the contract's error shape, in one place.

Services raise these; the HTTP layer turns each into
``{"error": {"code", "message", "details"}}`` with its status.
"""


class LoyaltyError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def body(self) -> dict:
        return error_body(self.code, self.message, self.details)


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


class BadRequest(LoyaltyError):
    status, code = 400, "bad_request"


class Unauthorized(LoyaltyError):
    status, code = 401, "unauthorized"


class Forbidden(LoyaltyError):
    status, code = 403, "forbidden"


class NotFound(LoyaltyError):
    status, code = 404, "not_found"


class MemberExists(LoyaltyError):
    status, code = 409, "member_exists"


class InsufficientPoints(LoyaltyError):
    status, code = 409, "insufficient_points"


class RewardUnavailable(LoyaltyError):
    status, code = 409, "reward_unavailable"


class MemberInactive(LoyaltyError):
    status, code = 409, "member_inactive"


class IdempotencyConflict(LoyaltyError):
    status, code = 409, "idempotency_conflict"


class InvalidState(LoyaltyError):
    status, code = 409, "invalid_state"


class MemberMerged(LoyaltyError):
    """The member was merged into another; ``details.merged_into`` names it."""

    status, code = 410, "member_merged"


class ConfirmationRequired(LoyaltyError):
    """A risky change asked for without ``confirm: true``; ``details.warnings`` says what it would break."""

    status, code = 409, "confirmation_required"


class ValidationFailed(LoyaltyError):
    status, code = 422, "validation_error"

    def __init__(self, fields: dict[str, list[str]], message: str = "The request has invalid fields."):
        super().__init__(message, {"fields": fields})


class RulesRejected(LoyaltyError):
    status, code = 422, "rules_invalid"

    def __init__(self, errors: list[dict]):
        first = errors[0]["message"] if errors else "invalid rules"
        super().__init__(f"The rules were rejected: {first}", {"errors": errors})


class InvalidSignature(LoyaltyError):
    status, code = 400, "invalid_signature"


class PayloadTooLarge(LoyaltyError):
    status, code = 413, "payload_too_large"


class RateLimited(LoyaltyError):
    status, code = 429, "rate_limited"


class PaymentProviderFailed(LoyaltyError):
    """Stripe refused, failed or timed out; whatever depended on it did not happen."""

    status, code = 502, "payment_provider_error"


class ServiceUnavailable(LoyaltyError):
    status, code = 503, "unavailable"
