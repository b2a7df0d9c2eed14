"""`rules simulate` and `rules export` at their edges; simulate checks events as the live API does."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules" / "program.yaml"


def simulate(runner, tmp_path, text: str, *extra):
    events = tmp_path / "events.json"
    events.write_text(text)
    return runner.invoke(args=["rules", "simulate", str(RULES), str(events), *extra])


def test_simulate_prints_each_event_of_a_good_file(runner, tmp_path):
    events = [{"type": "purchase", "amount": 1250, "currency": "USD", "occurred_at": "2026-11-23T14:05:00Z"},
              {"type": "review"}]
    result = simulate(runner, tmp_path, json.dumps(events))
    assert result.exit_code == 0, result.output
    assert "2026-11-23T14:05:00Z purchase: 12 points" in result.output
    assert "review: 25 points" in result.output


def test_simulate_reports_broken_json_with_its_line_not_a_traceback(runner, tmp_path):
    result = simulate(runner, tmp_path, '[\n  {"type": "review"},\n  {"type": "review",}\n]\n')
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "events.json:3:" in result.output and "not valid JSON" in result.output
    assert "Traceback" not in result.output


def test_simulate_reports_every_bad_event_with_its_line(runner, tmp_path):
    text = ('[\n'
            '  {"type": "purchase", "amount": 1000, "currency": "EUR"},\n'
            '  {"type": "review"},\n'
            '  {"type": "teleport"},\n'
            '  {"type": "purchase"},\n'
            '  {"type": "purchase", "amount": -5, "currency": "USD", "colour": "red"},\n'
            '  {"type": "review", "amount": 100}\n'
            ']\n')
    result = simulate(runner, tmp_path, text)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if "events.json:" in line]
    assert any(":2: events[0].currency: the program runs in USD, not EUR" in line for line in lines), lines
    assert any(":4: events[2].type: unknown action 'teleport'" in line for line in lines), lines
    assert any(":5: events[3].amount: required for a purchase" in line for line in lines), lines
    assert any(":5: events[3].currency: required for a purchase" in line for line in lines), lines
    assert any(":6: events[4].amount: must be between 0 and" in line for line in lines), lines
    assert any(":6: events[4].colour: Unknown field." in line for line in lines), lines
    assert any(":7: events[5].amount: only purchases carry amount" in line for line in lines), lines
    assert not any("events[1]" in line for line in lines)
    assert "7 problem(s)" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("text", ['{"type": "review"}', '"review"', '[1, "two"]', '{"events": 5}'])
def test_simulate_reports_a_file_that_is_not_a_list_of_events(runner, tmp_path, text):
    result = simulate(runner, tmp_path, text)
    assert result.exit_code == 1 and "events.json" in result.output and "Traceback" not in result.output


def test_simulate_names_the_tiers_when_given_an_unknown_one(runner, tmp_path):
    result = simulate(runner, tmp_path, '[{"type": "review"}]', "--tier", "platinum")
    assert result.exit_code == 1 and "silver" in result.output


@pytest.mark.parametrize("event, field, message", [
    ({"type": "purchase", "amount": 1000, "currency": "EUR"}, "currency", "the program runs in USD, not EUR"),
    ({"type": "teleport"}, "type", "unknown action 'teleport'"),
    ({"type": "purchase", "amount": 1000}, "currency", "required for a purchase"),
    ({"type": "purchase", "amount": 10**20, "currency": "USD"}, "amount", "must be between 0 and"),
])
def test_the_simulate_api_refuses_what_the_events_api_refuses(admin_api, api, event, field, message):
    member = api.enroll()
    live = api.post("/v1/events", {**event, "member_id": member["id"]})
    assert live.status_code == 422 and live.get_json()["error"]["details"]["fields"][field][0] \
        .startswith(message)
    dry = admin_api.post("/v1/rules/simulate", {"events": [{"type": "review"}, event]})
    assert dry.status_code == 422, dry.get_json()
    assert dry.get_json()["error"]["details"]["fields"]["events"]["1"][field][0].startswith(message)


def test_export_into_a_folder_that_does_not_exist_makes_it(runner, tmp_path):
    folder = tmp_path / "exports" / "today"
    result = runner.invoke(args=["rules", "export", str(folder)])
    assert result.exit_code == 0, result.output
    assert (folder / "program.yaml").read_text() == RULES.read_text()


def test_export_to_a_yaml_file_in_a_folder_that_does_not_exist_makes_the_folder(runner, tmp_path):
    target = tmp_path / "backup" / "rules.yaml"
    result = runner.invoke(args=["rules", "export", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text() == RULES.read_text()
