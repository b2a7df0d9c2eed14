"""What POST /v1/rules/backtest answers: points per rule, members, tier moves, cards, challenges, streaks."""

import marshmallow as ma

from loyalty.api.fields import Timestamp


class BacktestLineSchema(ma.Schema):
    actual_points = ma.fields.Integer()
    candidate_points = ma.fields.Integer()
    difference = ma.fields.Integer(metadata={"description": "candidate − actual"})
    actual_liability = ma.fields.Integer(metadata={"description": "points × point_value, in minor units"})
    candidate_liability = ma.fields.Integer()
    liability_difference = ma.fields.Integer()


class BacktestRuleSchema(BacktestLineSchema):
    rule_id = ma.fields.String()
    in_candidate = ma.fields.Boolean(metadata={"description": "false for a rule the candidate drops"})


class BacktestMemberSchema(ma.Schema):
    member_id = ma.fields.String()
    external_id = ma.fields.String(allow_none=True)
    actual_points = ma.fields.Integer()
    candidate_points = ma.fields.Integer()
    difference = ma.fields.Integer()
    tier_at_start = ma.fields.String()
    actual_tier = ma.fields.String()
    candidate_tier = ma.fields.String()


class TierMoveSchema(ma.Schema):
    from_tier = ma.fields.String()
    to_tier = ma.fields.String()
    actual = ma.fields.Integer()
    candidate = ma.fields.Integer()


class BacktestCardSchema(ma.Schema):
    card_id = ma.fields.String()
    in_candidate = ma.fields.Boolean(metadata={"description": "false for a card the candidate drops"})
    actual_stamps = ma.fields.Integer(metadata={"description": "stamps the window's events gave"})
    candidate_stamps = ma.fields.Integer()
    actual_completed = ma.fields.Integer(metadata={"description": "cards those stamps completed"})
    candidate_completed = ma.fields.Integer()


class BacktestChallengeSchema(ma.Schema):
    challenge_id = ma.fields.String()
    in_candidate = ma.fields.Boolean(metadata={"description": "false for a challenge the candidate drops"})
    actual_completed = ma.fields.Integer(metadata={"description": "completions the window's events made"})
    candidate_completed = ma.fields.Integer()


class BacktestStreakSchema(ma.Schema):
    streak_id = ma.fields.String()
    in_candidate = ma.fields.Boolean(metadata={"description": "false for a streak the candidate drops"})
    actual_completed = ma.fields.Integer(metadata={"description": "completions the window's events made"})
    candidate_completed = ma.fields.Integer()


class BacktestSchema(ma.Schema):
    start = Timestamp(data_key="from", attribute="from")
    end = Timestamp(data_key="to", attribute="to")
    currency = ma.fields.String()
    point_value = ma.fields.Integer(metadata={"description": "liability per point, in minor units"})
    events = ma.fields.Integer(metadata={"description": "recorded events replayed"})
    members = ma.fields.Integer(metadata={"description": "members who earned on either side"})
    totals = ma.fields.Nested(BacktestLineSchema)
    rules = ma.fields.List(ma.fields.Nested(BacktestRuleSchema))
    members_affected = ma.fields.Integer()
    members_most_affected = ma.fields.List(ma.fields.Nested(BacktestMemberSchema))
    cards = ma.fields.List(ma.fields.Nested(BacktestCardSchema), metadata={
        "description": "stamps and completed cards, actual vs candidate"})
    challenges = ma.fields.List(ma.fields.Nested(BacktestChallengeSchema), metadata={
        "description": "completed challenges, actual vs candidate"})
    streaks = ma.fields.List(ma.fields.Nested(BacktestStreakSchema), metadata={
        "description": "completed streaks, actual vs candidate"})
    tier_moves = ma.fields.List(ma.fields.Nested(TierMoveSchema))
