"""Rules for marketers: read, validate, dry-run, publish, list versions, roll back."""

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loyalty import clock
from loyalty.api import context
from loyalty.api.backtest_schemas import BacktestSchema
from loyalty.api.docs import error_responses
from loyalty.api.events import (
    AwardSchema,
    CardExplanationSchema,
    ChallengeExplanationSchema,
    EventInSchema,
    ExplanationSchema,
    StreakExplanationSchema,
)
from loyalty.api.fields import Timestamp
from loyalty.api.idempotent import write
from loyalty.api.schemas import StrictSchema
from loyalty.db.replica import read_behind
from loyalty.engine import EventFacts
from loyalty.engine.program_changes import program_changes
from loyalty.errors import NotFound, ValidationFailed
from loyalty.http.auth import requires
from loyalty.services import rules as rules_service
from loyalty.services.backtest import backtest
from loyalty.services.event_checks import event_errors
from loyalty.services.simulation import member_state, simulate

blp = Blueprint("rules", __name__, url_prefix="/v1/rules", description="The earning rules (marketers)")

MAX_YAML = 200_000


class RulesVersionSchema(ma.Schema):
    version = ma.fields.Integer()
    yaml = ma.fields.String()
    content_hash = ma.fields.String()
    published_at = Timestamp()
    published_by = ma.fields.String(allow_none=True)
    note = ma.fields.String(allow_none=True)
    active = ma.fields.Boolean()


class VersionSummarySchema(RulesVersionSchema):
    class Meta:
        exclude = ("yaml",)


class VersionListSchema(ma.Schema):
    data = ma.fields.List(ma.fields.Nested(VersionSummarySchema))


class YamlInSchema(StrictSchema):
    yaml = ma.fields.String(required=True, validate=validate.Length(min=1, max=MAX_YAML))


class PublishInSchema(YamlInSchema):
    note = ma.fields.String(allow_none=True, validate=validate.Length(max=500))
    confirm = ma.fields.Boolean(load_default=False, metadata={
        "description": "Go ahead with a risky change; without it, 409 confirmation_required lists the warnings."})


class ActivateInSchema(StrictSchema):
    confirm = ma.fields.Boolean(load_default=False, metadata={
        "description": "Go ahead with a risky rollback; without it, 409 confirmation_required lists the warnings."})


class ValidSchema(ma.Schema):
    valid = ma.fields.Boolean()
    changes = ma.fields.List(ma.fields.String(), metadata={
        "description": "What the YAML changes in the active program, in words: coffee-bonus: 1 → 2 points per $1."})


class SimulatedEventSchema(EventInSchema):
    """The body of ``POST /v1/events`` less whose it is: checked exactly as the live API checks it."""

    class Meta(EventInSchema.Meta):
        exclude = ("member_id", "external_id", "source_id")

    @ma.post_load
    def to_input(self, data, **kwargs):
        data["occurred_at"] = data.get("occurred_at") or clock.now()
        data["items"] = tuple(data.get("items") or ())
        data["attributes"] = data.get("attributes") or {}
        return EventFacts(**data)


def check_simulated_events(program, events: list[EventFacts]) -> None:
    """What the rules reject of the events, as ``POST /v1/events`` rejects it, under ``events.<index>``."""
    problems = {str(index): errors for index, event in enumerate(events) if (errors := event_errors(program, event))}
    if problems:
        raise ValidationFailed({"events": problems})


class SimulatedMemberSchema(StrictSchema):
    """Describe a member, or name a real one (``id``) to start from their tier, limits and caps used."""

    id = ma.fields.String(validate=validate.Length(min=1, max=32))
    tier = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)
    referred = ma.fields.Boolean()


class SimulateInSchema(StrictSchema):
    yaml = ma.fields.String(validate=validate.Length(min=1, max=MAX_YAML))
    events = ma.fields.List(ma.fields.Nested(SimulatedEventSchema), required=True,
                            validate=validate.Length(min=1, max=1000))
    member = ma.fields.Nested(SimulatedMemberSchema, load_default=dict)


class SimulatedResultSchema(ma.Schema):
    type = ma.fields.String()
    occurred_at = Timestamp()
    awarded = ma.fields.List(ma.fields.Nested(AwardSchema))
    explanation = ma.fields.List(ma.fields.Nested(ExplanationSchema))
    card_explanation = ma.fields.List(ma.fields.Nested(CardExplanationSchema))
    challenge_explanation = ma.fields.List(ma.fields.Nested(ChallengeExplanationSchema))
    streak_explanation = ma.fields.List(ma.fields.Nested(StreakExplanationSchema))


class SimulateResultSchema(ma.Schema):
    results = ma.fields.List(ma.fields.Nested(SimulatedResultSchema))
    total_points = ma.fields.Integer()


def _version_view(row, active_version: int | None) -> dict:
    return {"version": row.version, "yaml": row.yaml, "content_hash": row.content_hash,
            "published_at": row.published_at, "published_by": row.published_by, "note": row.note,
            "active": row.version == active_version}


@blp.route("")
class ActiveRulesView(MethodView):
    @requires("admin")
    @error_responses(blp, 404)
    @blp.response(200, RulesVersionSchema)
    def get(self):
        """The active rules version and its YAML."""
        row = rules_service.active_version(context.session())
        if row is None:
            raise NotFound("No rules are published yet.")
        return _version_view(row, row.version)

    @requires("admin")
    @error_responses(blp, 400, 409, 413)
    @blp.arguments(PublishInSchema())
    @blp.response(201, RulesVersionSchema)
    def put(self, data):
        """Publish a new version and make it active (422 rules_invalid if rejected; 409
        confirmation_required, with details.warnings, if risky and not confirmed)."""
        def work():
            row = rules_service.publish(context.session(), data["yaml"], context.actor(), data.get("note"),
                                        data["confirm"])
            return _version_view(row, row.version)

        return write(201, RulesVersionSchema, work, key_required=False)


@blp.route("/validate")
class ValidateRules(MethodView):
    @requires("admin")
    @error_responses(blp, 400, 413)
    @blp.arguments(YamlInSchema())
    @blp.response(200, ValidSchema)
    def post(self, data):
        """Check YAML without publishing; errors carry line, column and path; a valid one says what it changes."""
        candidate = rules_service.compile_rules(data["yaml"])
        return {"valid": True,
                "changes": program_changes(rules_service.active_rules(context.session()).program, candidate)}


@blp.route("/simulate")
class SimulateRules(MethodView):
    @requires("admin")
    @error_responses(blp, 400, 413)
    @blp.arguments(SimulateInSchema())
    @blp.response(200, SimulateResultSchema)
    def post(self, data):
        """Awards each event would get, in order, for one described member; writes nothing."""
        program = (rules_service.compile_rules(data["yaml"]) if data.get("yaml")
                   else context.rules().program)
        check_simulated_events(program, data["events"])
        member = data["member"]
        state = member_state(context.session(), member["id"]) if member.get("id") else {}
        for name, key in (("tier_id", "tier"), ("email", "email"), ("referred", "referred")):
            if member.get(key) is not None:
                state[name] = member[key]
        results = simulate(program, data["events"], **state)
        total = sum(award.points for result in results for award in result["awarded"])
        return {"results": results, "total_points": total}


class BacktestInSchema(YamlInSchema):
    start = Timestamp(required=True, data_key="from")
    end = Timestamp(required=True, data_key="to")
    top = ma.fields.Integer(load_default=10, validate=validate.Range(min=1, max=100),
                            metadata={"description": "how many of the most affected members to list"})


@blp.route("/backtest")
class BacktestRules(MethodView):
    @requires("admin")
    @error_responses(blp, 400, 413)
    @blp.arguments(BacktestInSchema())
    @blp.response(200, BacktestSchema)
    def post(self, data):
        """Replay the recorded events of [from, to) through candidate rules: points actually
        awarded vs what the candidate would have awarded, per rule and in total; writes nothing."""
        candidate, program = rules_service.compile_rules(data["yaml"]), context.rules().program
        return read_behind(lambda session: backtest(session, candidate, program, data["start"], data["end"],
                                                    data["top"]))


@blp.route("/versions")
class RulesVersions(MethodView):
    @requires("admin")
    @error_responses(blp)
    @blp.response(200, VersionListSchema)
    def get(self):
        """Every published version, newest first."""
        session = context.session()
        active = rules_service.active_version_number(session)
        return {"data": [_version_view(row, active) for row in rules_service.versions(session)]}


@blp.route("/versions/<int:version>/activate")
class ActivateVersion(MethodView):
    @requires("admin")
    @error_responses(blp, 404, 409)
    @blp.arguments(ActivateInSchema(), required=False)
    @blp.response(201, RulesVersionSchema)
    def post(self, data, version):
        """Make an earlier version active again (a rollback is a new activation); a risky one asks for
        confirm: true as publishing does."""
        def work():
            row = rules_service.activate(context.session(), version, context.actor(), data.get("confirm", False))
            return _version_view(row, row.version)

        return write(201, RulesVersionSchema, work, key_required=False)
