"""Forms and YAML as two views of one program: a form's edit rewrites the YAML text in place.

ruamel.yaml's round-trip mode reads the text into a tree that keeps its
comments, key order, flow style and spacing. A form changes only what it
changed: the values it shows are read back from the text, compared with what
was submitted, and just the difference is written (``rules/program.yaml``
comes back byte for byte when a form is applied unchanged). Whole items are
added or removed on the text's own lines, so the comments between items stay
with the item they describe. The result is checked by the engine like any text.
"""

from datetime import date

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from loyalty.engine import RulesInvalid, load_program
from loyalty.engine.grammar import SECTIONS as GRAMMAR_SECTIONS
from loyalty.errors import RulesRejected, ValidationFailed

from . import forms
from .form_reader import FormInvalid
from .yaml_tree import (
    add_key,
    blank_line_before,
    dump,
    insert_item,
    is_comment,
    item_spans,
    node_for,
    patch,
    round_trip_yaml,
)

#: section → (form kind, where it sits in the YAML, whether it is a list of items keyed by id)
SECTIONS = {
    "rules": ("rule", ("rules",), True),
    "caps": ("cap", ("caps",), True),
    "tiers": ("tier", ("tiers", "levels"), True),
    "rewards": ("reward", ("rewards",), True),
    "cards": ("card", ("cards",), True),
    "badges": ("badge", ("badges",), True),
    "challenges": ("challenge", ("challenges",), True),
    "streaks": ("streak", ("streaks",), True),
    "tier_settings": ("tier_settings", ("tiers",), False),
    "expiry": ("expiry", ("expiry",), False),
    "lifecycle": ("lifecycle", ("lifecycle",), False),
    "program": ("program", ("program",), False),
    "transfers": ("transfers", ("transfers",), False),
}
#: The form field showing a YAML key, where their names differ.
ERROR_FIELDS = {"where": "item_values"}
ITEM_NAMES = {"rules": "way to earn", "caps": "cap", "tiers": "tier", "rewards": "reward", "cards": "stamp card",
              "badges": "badge", "challenges": "challenge", "streaks": "streak"}


def outline(text: str) -> dict:
    """Every section's form values: lists as ``[(id, fields)]``, settings as ``fields``."""
    document = _load(text)
    result = {}
    for section, (kind, path, is_list) in SECTIONS.items():
        node = _find(document, path)
        if is_list:
            items = node if isinstance(node, list) else []
            result[section] = [(str(item.get("id", "")), forms.fields(kind, _plain(item)))
                               for item in items if isinstance(item, dict)]
        else:
            result[section] = forms.fields(kind, _plain(node) if isinstance(node, dict) else {})
    return result


def apply_form(text: str, section: str, key: str, form) -> str:
    """``text`` with the form's values for one item (``key``: its id; empty for a new one) or settings section."""
    kind, path, is_list = _section(section)
    after = forms.data(kind, form)
    document = _load(text)
    if not is_list:
        node = _find(document, path)
        if not isinstance(node, CommentedMap):
            if after == forms.data(kind, forms.fields(kind, {})):
                return text  # the defaults, as the section's absence already says
            _add_section(document, path[0], node_for(path[0], after))
        else:
            patch(node, _read_back(kind, node), after)
        return _checked(dump(document))
    items = _find(document, path)
    items = items if isinstance(items, CommentedSeq) else None
    existing = _item(items, key) if key else None
    if key and existing is None:
        raise ValidationFailed({"id": [f"no {ITEM_NAMES[section]} {key!r}: it may have been removed in the YAML"]})
    taken = {str(item.get("id")) for item in items or () if isinstance(item, dict) and item is not existing}
    if after["id"] in taken:
        raise FormInvalid({"id": [f"another {ITEM_NAMES[section]} is already called {after['id']!r}"]})
    if existing is not None:
        patch(existing, _read_back(kind, existing), after)
        return _checked(dump(document))
    if not items:
        _add_list(document, path, after, flow=section == "tiers")
        return _checked(dump(document))
    return _checked(insert_item(text, items, after, flow=section == "tiers"))


def remove_item(text: str, section: str, key: str) -> str:
    """``text`` without one item, with the comment lines right above it (they describe it)."""
    _, path, is_list = _section(section)
    if not is_list:
        raise ValidationFailed({"section": [f"one of {', '.join(ITEM_NAMES)}"]})
    document = _load(text)
    items = _find(document, path)
    item = _item(items if isinstance(items, CommentedSeq) else None, key)
    if item is None:
        raise ValidationFailed({"id": [f"no {ITEM_NAMES[section]} {key!r}"]})
    lines = text.splitlines(keepends=True)
    spans = item_spans(lines, items)
    index = next(i for i, candidate in enumerate(items) if candidate is item)
    lead, end = spans[index]
    if len(items) == 1 and len(path) == 1:  # the section's last item: the section goes with it
        lead = document.lc.key(path[0])[0]
    while lead > 0 and is_comment(lines[lead - 1]):
        lead -= 1
    if end < len(lines) and not lines[end].strip():
        end += 1
    elif lead > 0 and not lines[lead - 1].strip():
        lead -= 1
    del lines[lead:end]
    return _checked("".join(lines))


def errors_beside_fields(text: str, section: str, key: str, errors: list[dict]) -> tuple[dict, list[dict]]:
    """The engine's errors about the item a form wrote (``key``: its id, empty for a new one) by the form's field
    they concern ("challenges[2].award.badge" → badge), and the others as they came."""
    kind, path, is_list = _section(section)
    where = ".".join(path)
    if is_list:
        try:
            items = _find(_load(text), path)
        except RulesRejected:
            return {}, errors
        items = list(items) if isinstance(items, list) else []
        index = next((i for i, item in enumerate(items) if isinstance(item, dict) and str(item.get("id")) == key),
                     len(items))
        where += f"[{index}]"
    names = set(forms.fields(kind, {}))
    beside, rest = {}, []
    for error in errors:
        error_path = str(error.get("path") or "")
        steps = error_path[len(where):].lstrip(".").split(".") if error_path.startswith(where) else []
        keys = [ERROR_FIELDS.get(step.split("[")[0], step.split("[")[0]) for step in reversed(steps)]
        name = next((key for key in keys if key in names), None)
        if name is None:
            rest.append(error)
        else:
            beside.setdefault(name, []).append(error["message"])
    return beside, rest


def _section(section: str):
    if section not in SECTIONS:
        raise ValidationFailed({"section": [f"one of {', '.join(SECTIONS)}"]})
    return SECTIONS[section]


def _load(text: str):
    try:
        document = round_trip_yaml().load(text)
    except YAMLError:
        raise RulesRejected([{"line": 1, "column": 1, "path": "", "message": "fix the YAML before using the forms"}]) \
            from None
    if not isinstance(document, CommentedMap):
        raise RulesRejected([{"line": 1, "column": 1, "path": "", "message": "the YAML holds no program"}])
    return document


def _checked(text: str) -> str:
    try:
        load_program(text)
    except RulesInvalid as invalid:
        raise RulesRejected([error.as_dict() for error in invalid.errors]) from None
    return text


def _find(document, path):
    node = document
    for name in path:
        node = node.get(name) if isinstance(node, dict) else None
    return node


def _item(items, key: str):
    for item in items or ():
        if isinstance(item, dict) and str(item.get("id")) == key:
            return item
    return None


def _plain(node):
    if isinstance(node, dict):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(value) for value in node]
    if isinstance(node, bool) or node is None or isinstance(node, date):
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return str(node)


def _read_back(kind: str, node) -> dict:
    """What the form would submit for ``node`` unchanged; {} when the text is beyond the form (all is rewritten)."""
    try:
        return forms.data(kind, forms.fields(kind, _plain(node)))
    except FormInvalid:
        return {}


def _add_list(document: CommentedMap, path: tuple, value: dict, flow: bool) -> None:
    item = node_for(None, value)
    if not flow:
        item.fa.set_block_style()
    parent = document if len(path) == 1 else _find(document, path[:-1])
    if not isinstance(parent, CommentedMap):
        raise ValidationFailed({"section": [f"add the '{path[0]}' section in the YAML first"]})
    if path[-1] in parent:
        parent[path[-1]] = CommentedSeq([item])
    else:
        _add_section(parent, path[-1], CommentedSeq([item]))


def _add_section(document: CommentedMap, name: str, node) -> None:
    if isinstance(node, CommentedMap):
        node.fa.set_block_style()
    add_key(document, name, node, list(GRAMMAR_SECTIONS))
    if list(document)[0] != name:
        blank_line_before(document, name)
