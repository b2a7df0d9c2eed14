"""Schemas shared by several resources: the Member, lists, errors."""

import marshmallow as ma
from marshmallow import validate

from loyalty.api.fields import Timestamp


class StrictSchema(ma.Schema):
    """Request bodies: unknown fields are an error, never silently ignored."""

    class Meta:
        unknown = ma.RAISE


class ErrorDetailSchema(ma.Schema):
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    details = ma.fields.Dict()


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorDetailSchema, required=True)


class ExpiringSchema(ma.Schema):
    points = ma.fields.Integer()
    expires_at = Timestamp()


class PointsSchema(ma.Schema):
    balance = ma.fields.Integer()
    pending = ma.fields.Integer()
    lifetime_earned = ma.fields.Integer()
    lifetime_redeemed = ma.fields.Integer()
    expiring_soon = ma.fields.List(ma.fields.Nested(ExpiringSchema))


class NextTierSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    points_needed = ma.fields.Integer()


class TierSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    multiplier = ma.fields.Float()
    since = Timestamp()
    expires_at = Timestamp(allow_none=True)
    qualifying_points = ma.fields.Integer()
    next = ma.fields.Nested(NextTierSchema, allow_none=True)


class CardSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    description = ma.fields.String()
    stamps = ma.fields.Integer(metadata={"description": "Stamps on the current card; a completed card shows all "
                                                        "of them until the next stamp starts a new one, and a "
                                                        "refund can leave a new card below zero."})
    of = ma.fields.Integer(metadata={"description": "Stamps that complete the card."})
    completed = ma.fields.Integer(metadata={"description": "How many of these cards the member has completed."})
    reward_id = ma.fields.String(allow_none=True, metadata={"description": "What a completed card issues, at no "
                                                                           "point cost."})
    points = ma.fields.Integer(allow_none=True, metadata={"description": "Or the points it awards."})


class ChallengeSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    description = ma.fields.String()
    goal = ma.fields.String(metadata={"description": "count, amount or distinct_categories"})
    progress = ma.fields.Integer(metadata={"description": "How far the member is in the current window."})
    of = ma.fields.Integer(metadata={"description": "The goal's target."})
    period = ma.fields.String(allow_none=True, metadata={"description": "The calendar period, or null for a "
                                                                         "rolling window of `days`."})
    days = ma.fields.Integer(allow_none=True)
    completed = ma.fields.Integer(metadata={"description": "How many times the member completed it."})
    done = ma.fields.Boolean(metadata={"description": "Complete for the current period (or for good)."})
    points = ma.fields.Integer(allow_none=True)
    badge_id = ma.fields.String(allow_none=True)


class StreakSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    description = ma.fields.String()
    period = ma.fields.String(metadata={"description": "day, week or calendar_month"})
    length = ma.fields.Integer(metadata={"description": "Consecutive periods that complete the streak."})
    current = ma.fields.Integer(metadata={"description": "Periods in a row toward the next completion: 2 of 3 "
                                                         "weeks; 0 once the deadline has passed."})
    best = ma.fields.Integer(metadata={"description": "The longest run of periods in a row the member had."})
    completed = ma.fields.Integer(metadata={"description": "How many times the member completed it."})
    grace = ma.fields.Integer(metadata={"description": "Missed periods tolerated without breaking it."})
    points = ma.fields.Integer(allow_none=True)
    badge_id = ma.fields.String(allow_none=True)
    counted_through = ma.fields.Date(allow_none=True, metadata={
        "description": "The first day of the last period counted; null when no streak is going."})
    ends_after = ma.fields.Date(allow_none=True, metadata={
        "description": "The last day a qualifying event keeps the streak going; null when none is going."})


class BadgeSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    image = ma.fields.String(allow_none=True)
    earned_at = Timestamp()


class MemberSchema(ma.Schema):
    id = ma.fields.String()
    external_id = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    first_name = ma.fields.String(allow_none=True)
    last_name = ma.fields.String(allow_none=True)
    birthday = ma.fields.Date(allow_none=True)
    email_opt_in = ma.fields.Boolean()
    channel = ma.fields.String(allow_none=True)
    stripe_customer_id = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    enrolled_at = Timestamp()
    referral_code = ma.fields.String()
    referred_by_member_id = ma.fields.String(allow_none=True)
    points = ma.fields.Nested(PointsSchema)
    tier = ma.fields.Nested(TierSchema)
    lifecycle_stage = ma.fields.String()
    cards = ma.fields.List(ma.fields.Nested(CardSchema), metadata={"description": "The program's stamp cards."})
    challenges = ma.fields.List(ma.fields.Nested(ChallengeSchema),
                                metadata={"description": "The program's challenges."})
    streaks = ma.fields.List(ma.fields.Nested(StreakSchema), metadata={"description": "The program's streaks."})
    badges = ma.fields.List(ma.fields.Nested(BadgeSchema), metadata={"description": "Badges the member earned."})


class PageQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    limit = ma.fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = ma.fields.String(load_default=None)


def page_schema(item_schema, name: str) -> type[ma.Schema]:
    return type(name, (ma.Schema,), {
        "data": ma.fields.List(ma.fields.Nested(item_schema)),
        "next_cursor": ma.fields.String(allow_none=True),
    })


MemberPageSchema = page_schema(MemberSchema, "MemberPageSchema")
