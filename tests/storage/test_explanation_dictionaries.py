"""An event's explanation is stored deflated against its rules version's own dictionary.

It reads back exactly as the POST answered it, wherever it is read (the
event, the widget's transactions, the privacy export), also after another
version became active. Versions published before 0014 get theirs from
``rules dictionaries``; the migration's downgrade packs explanations back as
before.
"""

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from freezegun import freeze_time

from loyalty.db.transactions import write_transaction
from loyalty.db.types import pack_json, unpack_json
from loyalty.engine import EventFacts, Item, MemberFacts, evaluate, load_program
from loyalty.extensions import db
from loyalty.models import Event, RulesVersion
from loyalty.services import explanations
from loyalty.services import rules as rules_service
from tests.api.test_widget_api import widget_for
from tests.storage.test_packed_events import NOW, _event_0009, _member
from tests.test_migrations import MIGRATIONS, empty_database_url, migration_app  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent.parent
PROGRAM_TEXT = (ROOT / "rules" / "program.yaml").read_text()
PROGRAM = load_program(PROGRAM_TEXT, "program.yaml")
COFFEE = {"sku": "latte", "category": "coffee", "quantity": 2, "unit_amount": 450}


def _stored(app, event_id: str) -> Event:
    with app.app_context():
        event = db.session.get(Event, event_id)
        db.session.expunge(event)
        return event


def _version(app, version: int) -> RulesVersion:
    with app.app_context():
        row = db.session.get(RulesVersion, version)
        db.session.expunge(row)
        return row


# --------------------------------------------------------------------------- the format


def _explanation(tier_id="member", amount=1250, used: int = 0) -> list[dict]:
    at = datetime(2026, 12, 3, 15, tzinfo=UTC)
    keys = PROGRAM.usage_keys("purchase", at).member
    event = EventFacts(type="purchase", occurred_at=at, amount=amount, currency="USD",
                       items=(Item("latte", "coffee", 2, 450),))
    member = MemberFacts(member_id="mem_abcdefghijklmnop", tier_id=tier_id, usage={key: used for key in keys})
    return [line.as_dict() for line in evaluate(PROGRAM, event, member).explanation]


@pytest.mark.parametrize("tier_id, amount, used", [("member", 1250, 0), ("gold", 98765, 0),
                                                   ("silver", 4200, 1990), ("member", 1250, 2000)])
def test_an_explanation_reads_back_as_written_in_a_fraction_of_the_generic_packing(tier_id, amount, used):
    dictionary = explanations.build_dictionary(PROGRAM, datetime(2026, 11, 24, 5, tzinfo=UTC))
    lines = _explanation(tier_id, amount, used)
    packed = explanations.pack(lines, dictionary)
    assert packed[:1] == explanations.VERSION_DEFLATE
    assert explanations.unpack(packed, dictionary) == lines
    assert len(packed) * 3 < len(pack_json(lines)), (len(packed), len(pack_json(lines)))
    assert len(packed) < 60


def test_a_value_packed_against_a_dictionary_is_not_read_without_it():
    dictionary = explanations.build_dictionary(PROGRAM, NOW)
    packed = explanations.pack(_explanation(), dictionary)
    with pytest.raises(explanations.DictionaryMissing):
        explanations.unpack(packed, None)
    assert explanations.unpack(pack_json(_explanation()), None) == _explanation()  # the format before 0014
    assert explanations.pack(_explanation(), None) == pack_json(_explanation())  # a version without one


def test_the_dictionary_stays_within_deflates_window_for_a_big_program():
    rules = "\n".join(
        f"  - id: bonus-{n}\n    description: Bonus {n}\n    on: purchase\n"
        f"    award: {{points_per_dollar: 1, of: items, where: {{category: category-{n}}}}}"
        for n in range(300))
    text = PROGRAM_TEXT.replace("rules:\n", "rules:\n" + rules + "\n", 1)
    big = load_program(text, "program.yaml")
    dictionary = explanations.build_dictionary(big, NOW)
    assert len(dictionary) == explanations.MAX_DICTIONARY
    lines = [{"rule_id": "bonus-7", "matched": True, "points": 9,
              "reason": "1 point per $1 on $9.00 of category-7 items = 9 points"}]
    assert explanations.unpack(explanations.pack(lines, dictionary), dictionary) == lines


# --------------------------------------------------------------------------- through the API


@freeze_time("2026-11-24T15:00:00Z")
def test_a_recorded_explanation_is_packed_small_and_reads_back_everywhere(app, api, db_backend):
    member = api.enroll()
    posted = api.purchase(member["id"], 1250, items=[COFFEE])
    event = _stored(app, posted["event"]["id"])
    assert bytes(event.explanation[:1]) == explanations.VERSION_DEFLATE
    assert len(event.explanation) < 60
    assert len(event.explanation) * 3 < len(pack_json(posted["explanation"]))

    assert api.get(f"/v1/events/{event.id}").get_json()["explanation"] == posted["explanation"]
    export = api.get(f"/v1/members/{member['id']}/export").get_json()
    assert [e["explanation"] for e in export["events"] if e["id"] == event.id] == [posted["explanation"]]
    activity = widget_for(app, api, member["id"]).get("/v1/me/transactions").get_json()["data"]
    details = {row["rule_id"]: row["detail"] for row in activity if row["event_id"] == event.id}
    assert details == {line["rule_id"]: line["reason"] for line in posted["explanation"] if line["matched"]}


@freeze_time("2026-11-24T15:00:00Z")
def test_an_explanation_reads_with_its_own_versions_dictionary_after_another_is_active(app, api, db_backend):
    member = api.enroll()
    first = api.purchase(member["id"], 1250, items=[COFFEE])
    with app.app_context(), write_transaction(db.session()):
        rules_service.publish(db.session(), PROGRAM_TEXT.replace("to: 2026-12-26", "to: 2026-12-27"), "tests")
    second = api.purchase(member["id"], 1250, items=[COFFEE])
    assert second["event"]["rules_version"] == first["event"]["rules_version"] + 1
    versions = [_version(app, posted["event"]["rules_version"]) for posted in (first, second)]
    assert versions[0].dictionary_digest != versions[1].dictionary_digest
    for posted, version in zip((first, second), versions, strict=True):
        assert explanations.digest(version.explanation_dictionary) == version.dictionary_digest
        assert api.get(f"/v1/events/{posted['event']['id']}").get_json()["explanation"] == posted["explanation"]


# --------------------------------------------------------------------------- versions published before 0014


@freeze_time("2026-11-24T15:00:00Z")
def test_rules_dictionaries_gives_an_older_version_its_dictionary_and_its_next_events_use_it(
        app, api, runner, db_backend):
    active = _version(app, 1)
    with app.app_context(), write_transaction(db.session()):  # as migration 0014 leaves a version
        db.session.execute(sa.update(RulesVersion).values(explanation_dictionary=None, dictionary_digest=None))
    member = api.enroll()
    before = api.purchase(member["id"], 1250, items=[COFFEE])
    assert _stored(app, before["event"]["id"]).explanation == pack_json(before["explanation"])

    result = runner.invoke(args=["rules", "dictionaries"])
    assert result.exit_code == 0, result.output
    assert "Versions given a dictionary: 1." in result.output
    given = _version(app, 1)
    assert given.explanation_dictionary == explanations.build_dictionary(PROGRAM, active.published_at)
    assert given.dictionary_digest == explanations.digest(given.explanation_dictionary)
    assert "none" in runner.invoke(args=["rules", "dictionaries"]).output  # once is enough

    after = api.purchase(member["id"], 1250, items=[COFFEE])
    assert bytes(_stored(app, after["event"]["id"]).explanation[:1]) == explanations.VERSION_DEFLATE
    for posted in (before, after):
        assert api.get(f"/v1/events/{posted['event']['id']}").get_json()["explanation"] == posted["explanation"]


def test_a_version_whose_text_no_longer_compiles_is_left_without(app):
    with app.app_context(), write_transaction(db.session()):
        db.session.add(RulesVersion(yaml="not: a program", content_hash="b" * 64, published_at=NOW))
        given, left = rules_service.add_missing_dictionaries(db.session())
    assert (given, left) == ([], [2])


# --------------------------------------------------------------------------- migration 0014


def test_migration_0014_adds_the_columns_and_repacks_explanations_on_the_way_down(migration_app):  # noqa: F811
    assert _explanation("gold") != _explanation()  # so that the two events below tell their rows apart
    upgrade(directory=MIGRATIONS, revision="0013")
    with db.engine.begin() as connection:
        member_id = _member(connection)
        connection.execute(sa.text("INSERT INTO rules_versions (version, yaml, content_hash, published_at)"
                                   " VALUES (1, :yaml, :hash, :at)"),
                           {"yaml": PROGRAM_TEXT, "hash": "a" * 64, "at": NOW.replace(tzinfo=None)})
        connection.execute(Event.__table__.insert().values(
            **{**_event_0009("evt_old", member_id, None, None), "explanation": pack_json(_explanation())}))
    upgrade(directory=MIGRATIONS)
    assert db.session.get(RulesVersion, 1).dictionary_digest is None  # given by `rules dictionaries`
    with write_transaction(db.session()):
        assert rules_service.add_missing_dictionaries(db.session()) == ([1], [])
    dictionary = db.session.get(RulesVersion, 1).explanation_dictionary
    db.session.remove()
    with db.engine.begin() as connection:
        connection.execute(Event.__table__.insert().values(
            **{**_event_0009("evt_new", member_id, None, None), "rules_version": 1,
               "explanation": explanations.pack(_explanation("gold"), dictionary)}))
        assert connection.scalar(sa.text("SELECT explanation FROM events WHERE id = 'evt_old'")
                                 ) == pack_json(_explanation())

    downgrade(directory=MIGRATIONS, revision="0013")
    with db.engine.begin() as connection:
        rows = dict(connection.execute(sa.text("SELECT id, explanation FROM events")).all())
        columns = {c["name"] for c in sa.inspect(connection).get_columns("rules_versions")}
    assert {id_: unpack_json(packed) for id_, packed in rows.items()} == {
        "evt_old": _explanation(), "evt_new": _explanation("gold")}
    assert "explanation_dictionary" not in columns
