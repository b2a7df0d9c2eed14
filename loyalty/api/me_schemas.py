"""What /v1/me* shows a customer: allow-lists of their own, never the staff schemas.

Every field is named here; a field added to a staff schema (the API key
behind an entry, the member's Stripe customer, the channel they enrolled
through, marketing segments) never reaches a customer's browser by
inheritance. tests/api/test_widget_me.py lists every field a widget token
can see.
"""

import marshmallow as ma

from loyalty import clock
from loyalty.api.fields import Timestamp
from loyalty.api.schemas import (
    BadgeSchema,
    ChallengeSchema,
    ExpiringSchema,
    PointsSchema,
    StreakSchema,
    TierSchema,
    page_schema,
)
from loyalty.engine.rewards import REWARD_TYPES
from loyalty.models.redemption import REDEMPTION_STATUSES
from loyalty.services import redemptions


class ProgramTierSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    qualifying_points = ma.fields.Integer()
    multiplier = ma.fields.Float(metadata={"description": "Points on purchases are multiplied by this."})


class ProgramSchema(ma.Schema):
    name = ma.fields.String()
    currency = ma.fields.String()
    tiers = ma.fields.List(ma.fields.Nested(ProgramTierSchema), metadata={
        "description": "Every tier, lowest first: what each gives and what reaches it."})


class WayToEarnSchema(ma.Schema):
    rule_id = ma.fields.String()
    action = ma.fields.String(metadata={"description": "The event type, or referral."})
    title = ma.fields.String(metadata={"description": "Plain words for the customer: Write a review."})
    description = ma.fields.String(metadata={"description": "The rule's own description."})
    points = ma.fields.Integer(metadata={"description": "Fixed points, at the member's tier; a referral's: "
                                                        "what the member gets."})
    points_per_dollar = ma.fields.Float(metadata={"description": "Points per whole currency unit, at the "
                                                                 "member's tier."})
    friend_points = ma.fields.Integer(metadata={"description": "A referral's: what the friend gets."})
    remaining = ma.fields.Integer(metadata={"description": "How many more times this period."})
    limit = ma.fields.Integer(metadata={"description": "How many times a period."})
    period = ma.fields.String(metadata={"description": "day, week, calendar_month, calendar_year or member."})
    from_ = ma.fields.Date(data_key="from", attribute="from", allow_none=True)
    until = ma.fields.Date(allow_none=True)


class MyRewardSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    description = ma.fields.String()
    points_cost = ma.fields.Integer()
    type = ma.fields.String(metadata={"enum": list(REWARD_TYPES)})
    value = ma.fields.Integer(allow_none=True)
    currency = ma.fields.String(allow_none=True)
    tiers = ma.fields.List(ma.fields.String())
    stock_remaining = ma.fields.Integer(allow_none=True)
    available_from = ma.fields.Date(allow_none=True)
    available_until = ma.fields.Date(allow_none=True)
    code_valid_days = ma.fields.Integer()
    eligible = ma.fields.Boolean()
    ineligible_reason = ma.fields.String(allow_none=True)


class MyRewardListSchema(ma.Schema):
    data = ma.fields.List(ma.fields.Nested(MyRewardSchema))
    next_cursor = ma.fields.String(allow_none=True)


class MyRedemptionSchema(ma.Schema):
    id = ma.fields.String()
    member_id = ma.fields.String()
    reward_id = ma.fields.String()
    reward_name = ma.fields.String(allow_none=True, metadata={"description": "The reward's name in the catalog."})
    points_spent = ma.fields.Integer()
    code = ma.fields.String()
    status = ma.fields.Method("_status", metadata={"enum": list(REDEMPTION_STATUSES)})
    issued_at = Timestamp()
    expires_at = Timestamp()
    completed_at = Timestamp(allow_none=True)
    voided_at = Timestamp(allow_none=True)

    def _status(self, redemption) -> str:
        return redemptions.effective_status(redemption, clock.now())


MyRedemptionPageSchema = page_schema(MyRedemptionSchema, "MyRedemptionPageSchema")


class ActivitySchema(ma.Schema):
    id = ma.fields.String()
    type = ma.fields.String()
    points = ma.fields.Integer()
    balance_after = ma.fields.Integer()
    rule_id = ma.fields.String(allow_none=True)
    event_id = ma.fields.String(allow_none=True)
    redemption_id = ma.fields.String(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    created_at = Timestamp()
    expires_at = Timestamp(allow_none=True)
    description = ma.fields.String(metadata={"description": "Plain words for the customer."})
    detail = ma.fields.String(allow_none=True, metadata={
        "description": "How the rules computed an award (the event's explanation), or an adjustment's reason."})
    occurred_at = Timestamp(metadata={"description": "When the customer did it: the event's time, else created_at."})


ActivityPageSchema = page_schema(ActivitySchema, "ActivityPageSchema")


class MyCardSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    description = ma.fields.String()
    stamps = ma.fields.Integer(metadata={"description": "Stamps on the current card."})
    of = ma.fields.Integer(metadata={"description": "Stamps that complete the card."})
    completed = ma.fields.Integer(metadata={"description": "How many of these cards the member has completed."})
    reward_id = ma.fields.String(allow_none=True)
    points = ma.fields.Integer(allow_none=True)


class MeSchema(ma.Schema):
    id = ma.fields.String()
    email = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    first_name = ma.fields.String(allow_none=True)
    last_name = ma.fields.String(allow_none=True)
    birthday = ma.fields.Date(allow_none=True)
    email_opt_in = ma.fields.Boolean()
    status = ma.fields.String()
    enrolled_at = Timestamp()
    referral_code = ma.fields.String()
    points = ma.fields.Nested(PointsSchema)
    tier = ma.fields.Nested(TierSchema)
    next_expiry = ma.fields.Nested(ExpiringSchema, allow_none=True, metadata={
        "description": "The member's soonest-expiring points, however far away; null when none expire."})
    ways_to_earn = ma.fields.List(ma.fields.Nested(WayToEarnSchema), metadata={
        "description": "What the member can still earn and how, from the active rules."})
    program = ma.fields.Nested(ProgramSchema)
    cards = ma.fields.List(ma.fields.Nested(MyCardSchema), metadata={
        "description": "The program's stamp cards: stamps on the current card, of how many, cards completed."})
    challenges = ma.fields.List(ma.fields.Nested(ChallengeSchema), metadata={
        "description": "The program's challenges: progress in the current window, of how much, completions."})
    streaks = ma.fields.List(ma.fields.Nested(StreakSchema), metadata={
        "description": "The program's streaks: periods in a row, of how many, and the deadline of the next."})
    badges = ma.fields.List(ma.fields.Nested(BadgeSchema), metadata={"description": "Badges the member earned."})
    rewards = ma.fields.List(ma.fields.Nested(MyRewardSchema), metadata={
        "description": "With include=rewards: the catalog with eligible and ineligible_reason."})
    transactions = ma.fields.Nested(ActivityPageSchema, metadata={
        "description": "With include=transactions: the latest entries, as /v1/me/transactions."})
    redemptions = ma.fields.Nested(MyRedemptionPageSchema, metadata={
        "description": "With include=redemptions: the latest redemptions, as /v1/me/redemptions."})
