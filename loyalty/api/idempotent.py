"""Views that change points answer through here: one transaction, replayable by key."""

import json
from collections.abc import Callable
from functools import cache

import marshmallow as ma
from flask import Response, g, request

from loyalty import clock
from loyalty.db.transactions import write_transaction
from loyalty.errors import BadRequest
from loyalty.extensions import db
from loyalty.http.idempotency import Answer, fingerprint, member_of, run_once

MAX_KEY_LENGTH = 255


def _json_response(status: int, body: str, replayed: bool = False) -> Response:
    response = Response(body, status=status, mimetype="application/json")
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotency_key(required: bool) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        if required:
            raise BadRequest("This request needs an Idempotency-Key header (1–255 characters).")
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise BadRequest("Idempotency-Key must be 1–255 characters.")
    return key


@cache
def _schema(schema_class: type[ma.Schema]) -> ma.Schema:
    """One instance per schema class: building a schema (and its nested ones) costs more than a dump."""
    return schema_class()


def write(status: int, schema_class: type[ma.Schema], work: Callable[[], object], *,
          key_required: bool = True) -> Response:
    """Run ``work`` in one write transaction and answer with the schema's dump of its result.

    With an Idempotency-Key, the stored first response is replayed for a
    retry of the same request and a different request with the key is refused.
    """
    key = idempotency_key(key_required)
    schema = _schema(schema_class)

    def run() -> Answer:
        data = schema.dump(work())
        return Answer(status, json.dumps(data, separators=(",", ":")), member_of(data))

    if key is None:
        with write_transaction(db.session()):
            body = run().body
        return _json_response(status, body)
    stored = run_once(
        db.session(), g.principal.idempotency_scope, key,
        fingerprint(request.method, request.path, request.get_data()), clock.now(), run,
    )
    return _json_response(stored.status, stored.body, stored.replayed)
