"""Idempotency keys are replayed for the retention window (72 h by default), then forgotten by a job step."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from loyalty.commands.jobs import purge_idempotency_keys
from loyalty.extensions import db
from loyalty.http import idempotency
from loyalty.models import IdempotencyRecord
from tests.jobs.conftest import utc

T = "2026-03-10T14:00:00Z"
KEEP = timedelta(hours=72)


def keyed_purchase(api, member_id: str, key: str, source_id: str):
    return api.post("/v1/events", {"type": "purchase", "member_id": member_id, "amount": 1250,
                                   "currency": "USD", "source_id": source_id}, idempotency_key=key)


def test_keys_are_replayed_within_the_window_and_forgotten_after_it(api, jobs, at, db_backend):
    with at(T):
        member_id = api.enroll()["id"]
        first = keyed_purchase(api, member_id, "till-1/991", "order-991")
    assert first.status_code == 201

    assert jobs.run(purge_idempotency_keys, utc(T) + KEEP).done == 0     # not a second early
    with at("2026-03-13T13:59:00Z"):
        retry = keyed_purchase(api, member_id, "till-1/991", "order-991")
    assert (retry.status_code, retry.headers.get("Idempotent-Replayed")) == (201, "true")
    assert retry.get_json() == first.get_json()

    forgotten = jobs.run(purge_idempotency_keys, utc(T) + KEEP + timedelta(seconds=1)).done
    assert forgotten == 2  # the enrolment's key and the purchase's
    with at("2026-03-13T14:01:00Z"):
        late = keyed_purchase(api, member_id, "till-1/991", "order-991")
    # The key is gone, but the event's source_id still keeps the purchase from counting twice.
    assert (late.status_code, late.get_json()["error"]["code"]) == (409, "idempotency_conflict")
    assert api.member(member_id)["points"]["balance"] == first.get_json()["member"]["points"]["balance"]


def test_purging_works_in_batches_and_keeps_younger_keys(api, jobs, at, db_backend):
    with at(T):
        for _ in range(5):
            api.enroll()
    with at("2026-03-12T14:00:00Z"):
        api.enroll()
    done = jobs.run(purge_idempotency_keys, utc(T) + KEEP + timedelta(minutes=1), batch_size=2).done
    assert done == 5
    assert stored_keys(jobs.app) == [utc("2026-03-12T14:00:00Z")]


def stored_keys(app):
    with app.app_context():
        created = db.session.scalars(sa.select(IdempotencyRecord.created_at)).all()
        db.session.remove()
    return created


def test_keys_cannot_be_kept_less_than_the_contracts_24_hours(app):
    with app.app_context(), pytest.raises(ValueError):
        idempotency.purge_expired(None, utc(T), timedelta(hours=23))
