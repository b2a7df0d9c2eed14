"""Badges given by tiers: reaching a tier (by a purchase, or by a merge keeping the better tier) gives its
badge once, with badge.earned; a tier's badge is checked in the YAML."""

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from loyalty.engine import RulesInvalid, load_program
from loyalty.extensions import db
from loyalty.models import OutboxEvent
from tests.unit.test_engine_streaks import TEXT as STREAKS_TEXT

SILVER = "{id: silver, name: Silver, qualifying_points: 500, multiplier: 1.25}"
GOLD = "{id: gold, name: Gold, qualifying_points: 1500, multiplier: 1.5}"
BADGES = "badges:\n  - id: regular\n    name: Regular\n"
TEXT = (STREAKS_TEXT.replace(SILVER, SILVER[:-1] + ", badge: silver-star}")
        .replace(GOLD, GOLD[:-1] + ", badge: gold-star}")
        .replace(BADGES, BADGES + "  - id: silver-star\n    name: Silver star\n"
                 "  - id: gold-star\n    name: Gold star\n"))
NOW = "2026-11-30T17:00:00Z"


def sent(app, event_type):
    with app.app_context():
        data = [e.data for e in db.session.scalars(sa.select(OutboxEvent).where(OutboxEvent.type == event_type))]
        db.session.remove()
    return data


def errors_of(text):
    with pytest.raises(RulesInvalid) as caught:
        load_program(text)
    return [(e["line"], e["column"], e["path"], e["message"]) for e in (x.as_dict() for x in caught.value.errors)]


def test_a_tiers_badge_loads_and_must_be_declared_and_above_the_first_tier():
    assert [tier.badge_id for tier in load_program(TEXT).tiers] == [None, "silver-star", "gold-star"]
    wrong = TEXT.replace("badge: gold-star}", "badge: gold-stars}")
    [(line, column, path, message)] = errors_of(wrong)
    assert (path, message) == ("tiers.levels[2].badge", "unknown badge 'gold-stars' — did you mean 'gold-star'?")
    where = wrong.index("gold-stars}")
    assert (line, column) == (wrong[:where].count("\n") + 1, where - wrong.rindex("\n", 0, where))
    first = TEXT.replace("multiplier: 1.0}", "multiplier: 1.0, badge: regular}")
    [(_line, _column, path, message)] = errors_of(first)
    assert (path, message) == ("tiers.levels[0].badge",
                               "every member starts in the first tier: put the badge on a tier members reach")


@pytest.mark.usefixtures("db_backend")
@freeze_time(NOW)
def test_the_purchase_that_reaches_silver_gives_its_badge_once(app, api, admin_api):
    admin_api.publish_rules(TEXT, "tier badges")
    admin_api.post("/v1/webhook-endpoints", {"url": "https://crm.example.com/hook", "events": ["badge.earned"]},
                   idempotency_key=False)
    member = api.enroll()
    assert api.purchase(member["id"], 30000)["member"]["badges"] == []
    reached = api.purchase(member["id"], 30000)["member"]
    assert (reached["tier"]["id"], [b["id"] for b in reached["badges"]]) == ("silver", ["silver-star"])
    api.purchase(member["id"], 30000)
    assert [b["id"] for b in api.member(member["id"])["badges"]] == ["silver-star"]
    assert [(d["member_id"], d["badge_id"], d["source"]) for d in sent(app, "badge.earned")] == [
        (member["id"], "silver-star", "tier:silver")]


@pytest.mark.usefixtures("db_backend")
@freeze_time(NOW)
def test_going_straight_to_gold_gives_the_silver_badge_on_the_way(api, admin_api):
    admin_api.publish_rules(TEXT, "tier badges")
    member = api.enroll()
    reached = api.purchase(member["id"], 160000)["member"]
    assert (reached["tier"]["id"], sorted(b["id"] for b in reached["badges"])) == (
        "gold", ["gold-star", "silver-star"])


@pytest.mark.usefixtures("db_backend")
@freeze_time(NOW)
def test_a_merge_that_keeps_the_duplicates_better_tier_gives_its_badge(api, admin_api):
    admin_api.publish_rules(TEXT, "tier badges")
    survivor, duplicate = api.enroll(), api.enroll()
    api.purchase(duplicate["id"], 60000)
    merged = admin_api.post(f"/v1/members/{survivor['id']}/merge", {"member_id": duplicate["id"]})
    assert merged.status_code == 200, merged.get_json()
    after = api.member(survivor["id"])
    assert (after["tier"]["id"], [b["id"] for b in after["badges"]]) == ("silver", ["silver-star"])
