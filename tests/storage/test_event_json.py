"""Event items and attributes are stored as plain JSON (JSONB on PostgreSQL) that SQL reads.

A shop's analyst finds events by what was bought with the database's own
JSON operators: ``json_each`` on SQLite, ``@>`` on PostgreSQL.
"""

import json

import pytest
import sqlalchemy as sa

from loyalty.extensions import db

COFFEE = {"sku": "latte", "category": "coffee", "quantity": 2, "unit_amount": 450}
SCONE = {"sku": "scone", "category": "pastry", "quantity": 1, "unit_amount": 350}
LOOSE_TEA = {"sku": None, "category": "tea", "quantity": 3, "unit_amount": 275}


def _sql(app, query: str, **params) -> list:
    with app.app_context():
        rows = db.session.execute(sa.text(query), params).all()
        db.session.remove()
    return rows


def _events_with_item(app, db_backend: str, **item) -> set[str]:
    """Ids of the events with an item matching ``item`` (e.g. sku="latte"), found by SQL."""
    if db_backend == "postgres":
        return {row[0] for row in _sql(app, "SELECT id FROM events WHERE items @> CAST(:probe AS jsonb)",
                                       probe=json.dumps([item]))}
    (name, value), = item.items()
    return {row[0] for row in _sql(app, "SELECT DISTINCT e.id FROM events e, json_each(e.items) AS i"
                                        f" WHERE json_extract(i.value, '$.{name}') = :value", value=value)}


def test_events_are_found_by_an_items_sku_or_category(app, api, db_backend):
    member = api.enroll()
    coffee = api.purchase(member["id"], 1250, items=[COFFEE])["event"]["id"]
    breakfast = api.purchase(member["id"], 800, items=[SCONE, {**COFFEE, "quantity": 1}])["event"]["id"]
    tea = api.purchase(member["id"], 825, items=[LOOSE_TEA])["event"]["id"]
    api.purchase(member["id"], 500)

    assert _events_with_item(app, db_backend, sku="latte") == {coffee, breakfast}
    assert _events_with_item(app, db_backend, category="pastry") == {breakfast}
    assert _events_with_item(app, db_backend, category="tea") == {tea}
    assert _events_with_item(app, db_backend, sku="mug") == set()


def test_items_and_attributes_are_stored_as_json_and_read_back_as_given(app, api, db_backend):
    member = api.enroll()
    sale = api.purchase(member["id"], 1250, items=[COFFEE, LOOSE_TEA])["event"]["id"]
    review = api.action(member["id"], "review", stars=5, text="café ☕", tags=["quick", None])["event"]["id"]
    if db_backend == "postgres":
        query = ("SELECT id, jsonb_typeof(items), items -> 1 ->> 'category', jsonb_typeof(attributes),"
                 " attributes ->> 'text' FROM events ORDER BY id")
    else:
        query = ("SELECT id, json_type(items), json_extract(items, '$[1].category'), json_type(attributes),"
                 " json_extract(attributes, '$.text') FROM events ORDER BY id")
    rows = {row[0]: tuple(row[1:]) for row in _sql(app, query)}
    assert {event_id: rows[event_id] for event_id in (sale, review)} == {
        sale: ("array", "tea", None, None),  # no attributes: SQL NULL, not a JSON null
        review: (None, None, "object", "café ☕")}

    assert api.get(f"/v1/events/{sale}").get_json()["items"] == [COFFEE, LOOSE_TEA]
    detail = api.get(f"/v1/events/{review}").get_json()
    assert (detail["items"], detail["attributes"]) == (None, {"stars": 5, "text": "café ☕", "tags": ["quick", None]})


def test_items_and_attributes_are_jsonb_on_postgresql_and_the_explanation_its_compact_json(app, api, db_backend):
    if db_backend != "postgres":
        pytest.skip("JSONB is PostgreSQL's")
    types = dict(_sql(app, "SELECT column_name, data_type FROM information_schema.columns"
                           " WHERE table_name = 'events' AND column_name IN ('items', 'attributes', 'explanation')"))
    assert types == {"items": "jsonb", "attributes": "jsonb", "explanation": "json"}
    event_id = api.purchase(api.enroll()["id"], 1250, items=[COFFEE])["event"]["id"]
    (text,), = _sql(app, "SELECT CAST(explanation AS text) FROM events WHERE id = :id", id=event_id)
    assert text == json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
