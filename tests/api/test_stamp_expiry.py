"""A card whose stamps lapse by age (expires: {after_days: N}): each stamp leaves the current card's count N
days after the day it was given, on SQLite and PostgreSQL; a completed card keeps its stamps."""

from pathlib import Path

import pytest
from freezegun import freeze_time

from tests.api.test_stamp_card import LATTE, card, coffee_line

DEMO = (Path(__file__).resolve().parents[2] / "rules" / "program.yaml").read_text()
CARD_END = "    stamps: 9\n    reward: free-drink\n"
TEXT = DEMO.replace(CARD_END, CARD_END + "    expires: {after_days: 30}\n", 1)

pytestmark = pytest.mark.usefixtures("db_backend")


def at(month: int, day: int) -> str:
    return f"2026-{month:02d}-{day:02d}T17:00:00Z"  # noon in New York


def coffee(api, member_id, month, day):
    with freeze_time(at(month, day)):
        return api.purchase(member_id, 450, items=[LATTE])


def stamps_on(api, member_id, month, day) -> int:
    with freeze_time(at(month, day)):
        return card(api.member(member_id))["stamps"]


def three_stamps(api, admin_api) -> tuple[str, list[dict]]:
    assert TEXT != DEMO
    with freeze_time(at(11, 1)):
        admin_api.publish_rules(TEXT, "stamps lapse by age")
        member_id = api.enroll()["id"]
    return member_id, [coffee(api, member_id, 11, n) for n in (1, 5, 20)]


def test_the_oldest_stamps_age_out_and_the_next_stamp_counts_from_what_is_left(api, admin_api):
    member_id, _ = three_stamps(api, admin_api)
    assert stamps_on(api, member_id, 12, 1) == 3  # the 1 November stamp still counts 30 days on
    assert stamps_on(api, member_id, 12, 2) == 2
    assert stamps_on(api, member_id, 12, 6) == 1
    assert coffee_line(coffee(api, member_id, 12, 6))["reason"] == "Stamp 2 of 9 on the Coffee card"
    assert stamps_on(api, member_id, 12, 20) == 2
    assert stamps_on(api, member_id, 12, 21) == 1  # the 20 November stamp has gone too


def test_a_refund_of_a_stamp_already_aged_out_takes_nothing_more(api, admin_api):
    member_id, purchases = three_stamps(api, admin_api)
    coffee(api, member_id, 12, 6)  # 2: the 20 November stamp and this one
    with freeze_time(at(12, 10)):
        oldest, newest = purchases[0]["event"]["id"], purchases[2]["event"]["id"]
        assert api.post(f"/v1/events/{oldest}/refunds", {"amount": 450}).status_code == 201
        assert card(api.member(member_id))["stamps"] == 2
        assert api.post(f"/v1/events/{newest}/refunds", {"amount": 450}).status_code == 201
        assert card(api.member(member_id))["stamps"] == 1


def test_a_completed_card_keeps_its_stamps_however_old(api, admin_api):
    with freeze_time(at(11, 1)):
        admin_api.publish_rules(TEXT, "stamps lapse by age")
        member_id = api.enroll()["id"]
    for n in range(1, 10):
        coffee(api, member_id, 11, n)
    assert stamps_on(api, member_id, 11, 9) == 9
    with freeze_time(at(12, 30)):
        shown = card(api.member(member_id))
    assert (shown["stamps"], shown["completed"]) == (9, 1)
