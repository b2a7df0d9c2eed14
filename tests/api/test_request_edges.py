"""The edges a careless client finds: each answered in the contract's error shape, saying what is allowed."""

import io
import json

import pytest

from loyalty.api.events import MAX_AMOUNT, MAX_ATTRIBUTE_CHARS, MAX_ATTRIBUTES_CHARS


def error_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code and set(error) == {"code", "message", "details"}
    return error


def purchase(member_id: str, amount) -> dict:
    return {"type": "purchase", "member_id": member_id, "amount": amount, "currency": "USD"}


@pytest.mark.parametrize("amount", [10**20, MAX_AMOUNT + 1])
def test_an_amount_above_the_maximum_says_the_maximum(api, amount):
    member = api.enroll()
    error = error_of(api.post("/v1/events", purchase(member["id"], amount)), 422, "validation_error")
    assert error["details"]["fields"]["amount"] == [f"must be between 0 and {MAX_AMOUNT} (minor units)"]
    assert api.member(member["id"])["points"]["balance"] == 50


def test_the_maximum_amount_itself_is_accepted(api):
    member = api.enroll()
    assert api.post("/v1/events", purchase(member["id"], MAX_AMOUNT)).status_code == 201


def test_a_refund_above_the_maximum_says_the_maximum(api):
    event = api.purchase(api.enroll()["id"], 1000)["event"]
    error = error_of(api.post(f"/v1/events/{event['id']}/refunds", {"amount": 10**20}), 422, "validation_error")
    assert str(MAX_AMOUNT) in error["details"]["fields"]["amount"][0]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_json_body_without_the_json_content_type_says_so(api, content_type):
    member = api.enroll()
    headers = api.headers(extra={"Content-Type": content_type} if content_type else None)
    response = api.client.post("/v1/events", data=json.dumps(purchase(member["id"], 1000)), headers=headers)
    error = error_of(response, 415, "bad_request")
    assert "application/json" in error["message"]
    assert error["details"]["allowed"] == ["application/json"]
    assert api.member(member["id"])["points"]["balance"] == 50


def test_json_with_a_charset_is_json(api):
    member = api.enroll()
    headers = api.headers(extra={"Content-Type": "application/json; charset=utf-8"})
    response = api.client.post("/v1/events", data=json.dumps(purchase(member["id"], 1000)), headers=headers)
    assert response.status_code == 201, response.get_json()


def test_a_post_without_a_body_needs_no_content_type(api):
    member = api.enroll()
    response = api.client.post(f"/v1/members/{member['id']}/widget-tokens", headers=api.headers())
    assert response.status_code == 201, response.get_json()


def test_a_body_over_the_limit_is_a_413_naming_the_limit(app, api):
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = {"type": "review", "external_id": "x", "attributes": {"text": "a" * limit}}
    error = error_of(api.post("/v1/events", body), 413, "payload_too_large")
    assert f"{limit:,} bytes" in error["message"]
    assert error["details"] == {"limit_bytes": limit}


def test_an_oversized_chunked_body_is_a_413_not_invalid_json(app, api):
    """A chunked body has no Content-Length: the server (gunicorn) marks its stream as terminated."""
    limit = app.config["MAX_CONTENT_LENGTH"]
    raw = json.dumps({"type": "review", "external_id": "x", "attributes": {"text": "a" * limit}}).encode()
    response = api.client.post("/v1/events", input_stream=io.BytesIO(raw),
                               headers=api.headers(extra={"Content-Type": "application/json",
                                                          "Transfer-Encoding": "chunked"}),
                               environ_overrides={"wsgi.input_terminated": True})
    error = error_of(response, 413, "payload_too_large")
    assert error["details"] == {"limit_bytes": limit}


def test_a_chunked_body_within_the_limit_is_accepted(api):
    member = api.enroll()
    raw = json.dumps(purchase(member["id"], 1000)).encode()
    response = api.client.post("/v1/events", input_stream=io.BytesIO(raw),
                               headers=api.headers(extra={"Content-Type": "application/json",
                                                          "Transfer-Encoding": "chunked"}),
                               environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 201, response.get_json()


def test_batch_paths_have_their_own_larger_limit(app):
    from loyalty.http.bodies import body_limit

    with app.test_request_context("/v1/events/batch", method="POST"):
        assert body_limit() == app.config["BATCH_MAX_CONTENT_LENGTH"] > app.config["MAX_CONTENT_LENGTH"]
    with app.test_request_context("/v1/events", method="POST"):
        assert body_limit() == app.config["MAX_CONTENT_LENGTH"]


def events_of(app, member_id: str) -> int:
    from loyalty.extensions import db
    from loyalty.models import Event

    with app.app_context():
        count = db.session.scalar(db.select(db.func.count()).select_from(Event).where(Event.member_id == member_id))
        db.session.remove()
    return count


def test_an_attribute_value_over_its_bound_is_refused_and_nothing_is_stored(app, api):
    member = api.enroll()
    before = events_of(app, member["id"])
    body = {"type": "review", "member_id": member["id"], "attributes": {"stars": 5, "text": "x" * 200_000}}
    error = error_of(api.post("/v1/events", body), 422, "validation_error")
    [message] = error["details"]["fields"]["attributes"]
    assert f"{MAX_ATTRIBUTE_CHARS:,}" in message and "text" in message
    assert events_of(app, member["id"]) == before


def test_attributes_over_their_total_bound_are_refused(api):
    member = api.enroll()
    count = MAX_ATTRIBUTES_CHARS // MAX_ATTRIBUTE_CHARS + 1
    attributes = {f"a{i}": "x" * (MAX_ATTRIBUTE_CHARS - 10) for i in range(count)}
    body = {"type": "review", "member_id": member["id"], "attributes": attributes}
    error = error_of(api.post("/v1/events", body), 422, "validation_error")
    assert f"{MAX_ATTRIBUTES_CHARS:,}" in error["details"]["fields"]["attributes"][0]


def test_attributes_within_their_bounds_are_kept(api):
    member = api.enroll()
    attributes = {"stars": 5, "text": "x" * (MAX_ATTRIBUTE_CHARS - 10)}
    response = api.post("/v1/events", {"type": "review", "member_id": member["id"], "attributes": attributes})
    assert response.status_code == 201, response.get_json()
    stored = api.get(f"/v1/events/{response.get_json()['event']['id']}").get_json()
    assert stored["attributes"] == attributes
