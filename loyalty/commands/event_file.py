"""A file of events for ``rules simulate``: read and checked as ``POST /v1/events`` checks a body.

Every problem is a line ``FILE:LINE: events[INDEX].FIELD: message``, all of them at once: JSON
that does not parse, a file that is not a list of events, and each event the live API would reject
(its schema and the rules' own check, the same code).
"""

import json
from pathlib import Path

import marshmallow as ma
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from loyalty.api.rules import SimulatedEventSchema
from loyalty.engine import EventFacts, Program
from loyalty.services.event_checks import event_errors


class EventFileInvalid(Exception):
    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


def read_events(path: Path, program: Program) -> list[EventFacts]:
    text = path.read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise EventFileInvalid([f"{path}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}"]) from None
    events = document.get("events") if isinstance(document, dict) else document
    if not isinstance(events, list):
        raise EventFileInvalid([f"{path}:1: must be a JSON list of events, or an object with a list \"events\""])
    lines = _item_lines(text, isinstance(document, dict))
    problems, loaded = [], []
    schema = SimulatedEventSchema()
    for index, raw in enumerate(events):
        where = f"{path}:{lines[index]}: events[{index}]" if index < len(lines) else f"{path}: events[{index}]"
        try:
            event = schema.load(raw)
        except ma.ValidationError as invalid:
            problems.extend(f"{where}.{name}: {message}" for name, message in _flat(invalid.messages))
            continue
        problems.extend(f"{where}.{name}: {message}" for name, messages in event_errors(program, event).items()
                        for message in messages)
        loaded.append(event)
    if problems:
        raise EventFileInvalid(problems)
    return loaded


def _item_lines(text: str, wrapped: bool) -> list[int]:
    """The line (1-based) each event starts on; JSON is YAML, and ruamel.yaml keeps positions."""
    try:
        document = YAML(typ="rt").load(text)
        items = document["events"] if wrapped else document
        return [items.lc.item(index)[0] + 1 for index in range(len(items))]
    except (YAMLError, AttributeError, KeyError, TypeError):
        return []


def _flat(messages, prefix: str = ""):
    """marshmallow's nested messages as (dotted.field, message) pairs."""
    if isinstance(messages, list):
        for message in messages:
            yield prefix or "_schema", message
        return
    for name, inner in messages.items():
        yield from _flat(inner, f"{prefix}.{name}" if prefix else str(name))
