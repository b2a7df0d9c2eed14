"""An event's explanation is stored as the engine's facts (JSON that SQL reads) and put into words when read.

It reads back exactly as the POST answered it, wherever it is read (the
event, the widget's transactions, the privacy export). Lines recorded before
0017 are stored with their words and read as they are.
"""

import sqlalchemy as sa
from freezegun import freeze_time

from loyalty.db.transactions import write_transaction
from loyalty.extensions import db
from loyalty.models import Event
from tests.api.test_widget_api import widget_for

COFFEE = {"sku": "latte", "category": "coffee", "quantity": 2, "unit_amount": 450}


def _stored(app, event_id: str) -> dict | list:
    with app.app_context():
        explanation = db.session.get(Event, event_id).explanation
        db.session.remove()
    return explanation


def _points_by_rule_in_sql(app, db_backend: str, event_id: str) -> dict[str, int]:
    """What each matched rule gave, read by the database's own JSON functions."""
    if db_backend == "postgres":
        query = ("SELECT l.key, CAST(l.value ->> 'points' AS int) FROM events e,"
                 " json_each(e.explanation) AS l WHERE e.id = :id AND (l.value ->> 'matched')::boolean")
    else:
        query = ("SELECT l.key, json_extract(l.value, '$.points') FROM events e,"
                 " json_each(e.explanation) AS l WHERE e.id = :id AND json_extract(l.value, '$.matched')")
    return _rows(app, query, event_id)


def _points_by_rule_in_words_in_sql(app, db_backend: str, event_id: str) -> dict[str, int]:
    """The same of an explanation kept in words, a list of lines."""
    if db_backend == "postgres":
        query = ("SELECT l ->> 'rule_id', CAST(l ->> 'points' AS int) FROM events e,"
                 " json_array_elements(e.explanation) AS l WHERE e.id = :id AND (l ->> 'matched')::boolean")
    else:
        query = ("SELECT json_extract(l.value, '$.rule_id'), json_extract(l.value, '$.points') FROM events e,"
                 " json_each(e.explanation) AS l WHERE e.id = :id AND json_extract(l.value, '$.matched')")
    return _rows(app, query, event_id)


def _rows(app, query: str, event_id: str) -> dict:
    with app.app_context():
        rows = db.session.execute(sa.text(query), {"id": event_id}).all()
        db.session.remove()
    return dict(rows)


@freeze_time("2026-11-24T15:00:00Z")
def test_a_recorded_explanation_is_stored_as_facts_and_reads_back_in_words_everywhere(app, api, db_backend):
    member = api.enroll()
    posted = api.purchase(member["id"], 1250, items=[COFFEE])
    event_id = posted["event"]["id"]
    stored = _stored(app, event_id)
    assert list(stored) == [line["rule_id"] for line in posted["explanation"]]
    assert all("code" in fact and "reason" not in fact for fact in stored.values())
    assert _points_by_rule_in_sql(app, db_backend, event_id) == {"spend": 12, "coffee-bonus": 9}
    one_rule = ("SELECT CAST(explanation -> 'coffee-bonus' ->> 'points' AS int) FROM events WHERE id = :id"
                if db_backend == "postgres" else
                """SELECT json_extract(explanation, '$."coffee-bonus".points') FROM events WHERE id = :id""")
    with app.app_context():
        assert db.session.execute(sa.text(one_rule), {"id": event_id}).scalar() == 9
        db.session.remove()

    assert api.get(f"/v1/events/{event_id}").get_json()["explanation"] == posted["explanation"]
    export = api.get(f"/v1/members/{member['id']}/export").get_json()
    assert [e["explanation"] for e in export["events"] if e["id"] == event_id] == [posted["explanation"]]
    activity = widget_for(app, api, member["id"]).get("/v1/me/transactions").get_json()["data"]
    details = {row["rule_id"]: row["detail"] for row in activity if row["event_id"] == event_id}
    assert details == {line["rule_id"]: line["reason"] for line in posted["explanation"] if line["matched"]}


@freeze_time("2026-11-24T15:00:00Z")
def test_an_explanation_recorded_in_words_before_0017_reads_as_it_was(app, api, db_backend):
    member = api.enroll()
    event_id = api.purchase(member["id"], 1250, items=[COFFEE])["event"]["id"]
    words = [{"rule_id": "spend", "matched": True, "points": 12, "reason": "1 point per $1 on $12.50 = 12 points"},
             {"rule_id": "retired-rule", "matched": False, "points": 0, "reason": "Worded by an older engine"}]
    with app.app_context(), write_transaction(db.session()):
        db.session.execute(sa.update(Event).where(Event.id == event_id).values(explanation=words))
    assert api.get(f"/v1/events/{event_id}").get_json()["explanation"] == words
    assert _points_by_rule_in_words_in_sql(app, db_backend, event_id) == {"spend": 12}


def test_the_dictionaries_command_is_gone(runner):
    result = runner.invoke(args=["rules", "dictionaries"])
    assert result.exit_code != 0 and "No such command" in result.output
