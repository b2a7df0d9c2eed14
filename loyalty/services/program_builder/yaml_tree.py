"""Edits of a ruamel.yaml round-trip tree and of the text's lines that keep comments where they belong.

A comment after a mapping's last line (a blank line, the comment above the
next item or section) is stored on that mapping's last key; when the last key
goes or a new one follows it, the comment moves so it stays after the item.
"""

import io

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

#: Nested mappings written in block style when a form adds them; the rest are written {flow: style}.
BLOCK_KEYS = frozenset({"referral", "stamp"})


def round_trip_yaml() -> YAML:
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


def dump(document) -> str:
    out = io.StringIO()
    round_trip_yaml().dump(document, out)
    return out.getvalue()


def patch(target: CommentedMap, before: dict, after: dict) -> None:
    for key in [key for key in before if key not in after]:
        _remove_key(target, key)
    for key, value in after.items():
        if key in before and key in target and before[key] == value:
            continue
        old = target.get(key)
        if isinstance(value, dict) and isinstance(old, CommentedMap) and isinstance(before.get(key), dict):
            patch(old, before[key], value)
        elif key in target:
            target[key] = node_for(key, value, like=old)
        else:
            add_key(target, key, node_for(key, value), list(after))


def node_for(key, value, like=None):
    if isinstance(value, dict):
        node = CommentedMap()
        for name, item in value.items():
            node[name] = node_for(name, item)
        flow = like.fa.flow_style() if isinstance(like, CommentedMap) else key not in BLOCK_KEYS
        if flow:
            node.fa.set_flow_style()
        return node
    if isinstance(value, list):
        node = CommentedSeq(node_for(None, item) for item in value)
        node.fa.set_flow_style()
        return node
    return value


def _tail(mapping: CommentedMap):
    """(mapping, key) holding the comment written after ``mapping``: its last key, inside a block-style value."""
    while mapping:
        last = list(mapping)[-1]
        value = mapping[last]
        if isinstance(value, CommentedMap) and value and not value.fa.flow_style():
            mapping = value
            continue
        return mapping, last
    return None, None


def _take_tail(mapping: CommentedMap) -> str:
    """Take the lines after ``mapping``'s last line (blank lines, the next item's comments); its end comment stays."""
    owner, key = _tail(mapping)
    entry = owner.ca.items.get(key) if owner is not None else None
    token = entry[2] if entry and len(entry) > 2 else None
    if token is None:
        return ""
    head, _, rest = token.value.partition("\n")
    token.value = head + "\n"
    return rest


def _give_tail(mapping: CommentedMap, rest: str) -> None:
    if not rest:
        return
    owner, key = _tail(mapping)
    if owner is None:
        return
    entry = owner.ca.items.setdefault(key, [None, None, None, None])
    token = entry[2]
    if token is None:
        entry[2] = CommentToken("\n" + rest, CommentMark(0), None)
    else:
        head, _, _ = token.value.partition("\n")
        token.value = head + "\n" + rest


def _remove_key(target: CommentedMap, key: str) -> None:
    last = list(target)[-1] == key
    rest = _take_tail(target) if last else ""
    target.pop(key, None)
    target.ca.items.pop(key, None)
    _give_tail(target, rest)


def add_key(target: CommentedMap, key: str, node, order: list) -> None:
    """Insert ``key`` right after the last key that ``order`` puts before it."""
    rank = {name: i for i, name in enumerate(order)}
    before = [i for i, name in enumerate(target) if name in rank and rank[name] < rank.get(key, len(order))]
    position = before[-1] + 1 if before else 0
    at_end = position >= len(target)
    rest = _take_tail(target) if at_end else ""
    target.insert(position, key, node)
    _give_tail(target, rest)


def blank_line_before(mapping: CommentedMap, key: str) -> None:
    """A new section stands apart from the one above it, as the others do."""
    entry = mapping.ca.items.setdefault(key, [None, None, None, None])
    if not entry[1]:
        entry[1] = [CommentToken("\n", CommentMark(0), None)]


def is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def item_spans(lines: list[str], items: CommentedSeq) -> list[tuple[int, int]]:
    """Each item's lines: from its dash to its last line of content (the blank and comment lines after it
    belong to what follows)."""
    starts = [items.lc.data[i][0] for i in range(len(items))]
    dash = items.lc.data[0][1] - 2
    boundary = len(lines)
    for number in range(starts[-1] + 1, len(lines)):
        line = lines[number]
        if line.strip() and not is_comment(line) and _indent(line) <= dash:
            boundary = number
            break
    spans = []
    for i, start in enumerate(starts):
        end = (starts[i + 1] if i + 1 < len(starts) else boundary)
        while end - 1 > start and (not lines[end - 1].strip() or is_comment(lines[end - 1])):
            end -= 1
        spans.append((start, end))
    return spans


def render_item(value: dict, dash: int, flow: bool) -> list[str]:
    item = node_for(None, value)
    if not flow:
        item.fa.set_block_style()
    text = dump(CommentedSeq([item]))  # "  - id: …": the dash at column 2
    pad = " " * max(dash - 2, 0)
    return [pad + line if line.strip() else line for line in text.splitlines(keepends=True)]


def insert_item(text: str, items: CommentedSeq, value: dict, flow: bool) -> str:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    spans = item_spans(lines, items)
    end = spans[-1][1]
    if len(spans) > 1:
        separated = any(not lines[n].strip() for n in range(spans[0][1], spans[1][0]))
    else:  # one item so far: a block of lines stands apart from the next, a one-line {flow} item does not
        separated = spans[0][1] - spans[0][0] > 1
    lines[end:end] = (["\n"] if separated else []) + render_item(value, items.lc.data[0][1] - 2, flow)
    return "".join(lines)
