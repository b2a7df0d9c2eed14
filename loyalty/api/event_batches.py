"""POST /v1/events/batch: up to 1,000 events in one request, each answered as if posted alone."""

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from loyalty import clock
from loyalty.api import context
from loyalty.api.docs import error_responses
from loyalty.api.events import (
    EVENT_IN,
    IDEMPOTENCY_HEADER,
    AwardSchema,
    CardExplanationSchema,
    ChallengeExplanationSchema,
    EventSummarySchema,
    ExplanationSchema,
    StreakExplanationSchema,
)
from loyalty.api.idempotent import write
from loyalty.api.schemas import ErrorDetailSchema, StrictSchema
from loyalty.errors import PayloadTooLarge, ValidationFailed
from loyalty.http.auth import requires
from loyalty.services import event_batch

blp = Blueprint("batches", __name__, url_prefix="/v1/events",
                description="Many events at once: offline tills, nightly uploads")


class BatchInSchema(StrictSchema):
    """Each event is parsed on its own (``EventInSchema``), so one bad event fails alone."""

    events = ma.fields.List(ma.fields.Raw(), required=True, metadata={
        "description": f"Up to {event_batch.MAX_EVENTS:,} events, each with its own source_id",
        "maxItems": event_batch.MAX_EVENTS,
        # Not a $ref to EventIn: an event that does not fit it is answered in its own result (422),
        # and the batch still succeeds.
        "items": {"description": "A body of POST /v1/events (schema EventIn), checked on its own: one that "
                                 "does not fit gets status 422 in its result"}})


class BatchEventResultSchema(ma.Schema):
    index = ma.fields.Integer()
    status = ma.fields.Integer(metadata={"enum": [201, 404, 409, 422]})
    event = ma.fields.Nested(EventSummarySchema)
    awarded = ma.fields.List(ma.fields.Nested(AwardSchema))
    explanation = ma.fields.List(ma.fields.Nested(ExplanationSchema))
    card_explanation = ma.fields.List(ma.fields.Nested(CardExplanationSchema))
    challenge_explanation = ma.fields.List(ma.fields.Nested(ChallengeExplanationSchema))
    streak_explanation = ma.fields.List(ma.fields.Nested(StreakExplanationSchema))
    error = ma.fields.Nested(ErrorDetailSchema)


class BatchResultSchema(ma.Schema):
    results = ma.fields.List(ma.fields.Nested(BatchEventResultSchema))



def _batch_items(events: list) -> list[event_batch.BatchItem]:
    if len(events) > event_batch.MAX_EVENTS:
        raise PayloadTooLarge(f"A batch holds at most {event_batch.MAX_EVENTS:,} events; this one has {len(events):,}.",
                              {"limit": event_batch.MAX_EVENTS, "events": len(events)})
    schema, items = EVENT_IN, []
    for index, body in enumerate(events):
        try:
            items.append(event_batch.BatchItem(index, data=schema.load(body)))
        except ma.ValidationError as error:
            fields = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
            items.append(event_batch.BatchItem(index, error=ValidationFailed(fields)))
    return items


def _batch_result(result: event_batch.BatchResult) -> dict:
    if result.error is not None:
        return {"index": result.index, "status": result.status, "error": result.error.body()["error"]}
    outcome = result.outcome
    evaluation = outcome.evaluation
    return {"index": result.index, "status": result.status, "event": outcome.event,
            "awarded": evaluation.awards, "explanation": evaluation.explanation,
            "card_explanation": evaluation.card_explanation,
            "challenge_explanation": evaluation.challenge_explanation,
            "streak_explanation": evaluation.streak_explanation}


@blp.route("/batch")
class EventBatch(MethodView):
    @requires("pos")
    @blp.arguments(BatchInSchema())
    @blp.response(200, BatchResultSchema)
    @blp.doc(parameters=[IDEMPOTENCY_HEADER])
    @error_responses(blp, 400, 413)
    def post(self, data):
        """Record up to 1,000 events; each is accrued as if posted alone and answered in the order sent."""
        items = _batch_items(data["events"])

        def work():
            results = event_batch.record_batch(context.session(), context.rules(), items, context.actor(),
                                               clock.now())
            return {"results": [_batch_result(result) for result in results]}

        return write(200, BatchResultSchema, work)
