"""Reading typed values out of YAML nodes while collecting every error.

Each reader returns the value, or None after recording an error that names
the file, the 1-based line and column, and the path (`rules[3].award`).
"""

import difflib
import re
from datetime import date
from fractions import Fraction

from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .errors import RuleError

_CORE = "tag:yaml.org,2002:"
_PLAIN_TAGS = frozenset(
    _CORE + t for t in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
)
_INTEGER = re.compile(r"[-+]?[0-9][0-9_]*")
_NUMBER = re.compile(r"[-+]?([0-9][0-9_]*(\.[0-9_]*)?|\.[0-9_]+)([eE][-+]?[0-9]+)?")
_KINDS = {MappingNode: "a mapping", SequenceNode: "a list", ScalarNode: "a single value"}


def suggestion(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    if close:
        return f" — did you mean '{close[0]}'?"
    return f" (expected one of: {', '.join(sorted(choices))})"


def _shown(node) -> str:
    if isinstance(node, ScalarNode):
        return f"'{node.value}'"
    return _KINDS.get(type(node), "a value")


class Checker:
    def __init__(self, errors: list, file: str):
        self.errors = errors
        self.file = file

    def error(self, node, path: str, message: str) -> None:
        mark = node.start_mark
        self.errors.append(RuleError(self.file, mark.line + 1, mark.column + 1, path, message))

    def _tag(self, node, path: str) -> str | None:
        if node.tag not in _PLAIN_TAGS:
            self.error(node, path, f"tag {node.tag} is not allowed in rules")
            return None
        return node.tag[len(_CORE) :]

    def mapping(self, node, path: str, keys, required=()) -> dict | None:
        """{key: value node} of a mapping whose keys are all in `keys`."""
        if not isinstance(node, MappingNode):
            self.error(
                node, path, f"expected a mapping with keys {', '.join(keys)}, got {_shown(node)}"
            )
            return None
        if self._tag(node, path) is None:
            return None
        found = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            if key not in keys:
                shown = f"'{key}'" if key is not None else _shown(key_node)
                self.error(key_node, path, f"unknown key {shown}{suggestion(key or '', keys)}")
            elif key in found:
                self.error(key_node, path, f"'{key}' is given twice")
            else:
                found[key] = value_node
        for key in required:
            if key not in found:
                self.error(node, path, f"missing '{key}'")
        return found

    def sequence(self, node, path: str) -> list | None:
        if not isinstance(node, SequenceNode):
            self.error(node, path, f"expected a list, got {_shown(node)}")
            return None
        if self._tag(node, path) is None:
            return None
        return node.value

    def scalar(self, node, path: str, what: str) -> tuple[str, str] | None:
        """(core tag, text) of a scalar that is not empty."""
        if not isinstance(node, ScalarNode):
            self.error(node, path, f"expected {what}, got {_shown(node)}")
            return None
        tag = self._tag(node, path)
        if tag is None:
            return None
        if tag == "null":
            self.error(node, path, f"expected {what}, got nothing")
            return None
        return tag, node.value

    def text(self, node, path: str, pattern=None, what="some text") -> str | None:
        found = self.scalar(node, path, what)
        if found is None:
            return None
        value = found[1].strip()
        if not value or (pattern is not None and not pattern.fullmatch(value)):
            self.error(node, path, f"expected {what}, got '{found[1]}'")
            return None
        return value

    def integer(self, node, path: str, minimum: int = 0, what="a whole number") -> int | None:
        found = self.scalar(node, path, what)
        if found is None:
            return None
        tag, text = found
        if tag != "int" or not _INTEGER.fullmatch(text):
            self.error(node, path, f"expected {what}, got '{text}'")
            return None
        value = int(text.replace("_", ""))
        if value < minimum:
            self.error(node, path, _below(value, minimum))
            return None
        return value

    def number(self, node, path: str, minimum=0) -> tuple[Fraction, str] | None:
        """(exact value, text as written): 1.25 is Fraction(5, 4), never a float."""
        found = self.scalar(node, path, "a number")
        if found is None:
            return None
        tag, text = found
        if tag not in ("int", "float") or not _NUMBER.fullmatch(text):
            self.error(node, path, f"expected a number, got '{text}'")
            return None
        value = Fraction(text.replace("_", ""))
        if value < minimum:
            self.error(node, path, _below(text, minimum))
            return None
        return value, text.lstrip("+")

    def boolean(self, node, path: str) -> bool | None:
        found = self.scalar(node, path, "true or false")
        if found is None:
            return None
        if found[0] != "bool":
            self.error(node, path, f"expected true or false, got '{found[1]}'")
            return None
        return found[1].lower() == "true"

    def date(self, node, path: str) -> date | None:
        found = self.scalar(node, path, "a date like 2026-12-20")
        if found is None:
            return None
        try:
            return date.fromisoformat(found[1].strip())
        except ValueError:
            self.error(node, path, f"'{found[1]}' is not a date; write it like 2026-12-20")
            return None

    def choice(self, node, path: str, choices) -> str | None:
        found = self.scalar(node, path, f"one of {', '.join(choices)}")
        if found is None:
            return None
        if found[1] not in choices:
            self.error(node, path, f"unknown value '{found[1]}'{suggestion(found[1], choices)}")
            return None
        return found[1]

    def value(self, node, path: str):
        """A plain scalar for comparisons: int, Fraction, bool or str."""
        found = self.scalar(node, path, "a value")
        if found is None:
            return None
        tag, text = found
        if tag == "int" and _INTEGER.fullmatch(text):
            return int(text.replace("_", ""))
        if tag == "float" and _NUMBER.fullmatch(text):
            return Fraction(text.replace("_", ""))
        if tag == "bool":
            return text.lower() == "true"
        return text


def id_node(node):
    """The ``id`` value of a mapping ``node`` (where an error about the id points), else the node."""
    return next((v for k, v in node.value if k.value == "id"), node)


def _below(value, minimum) -> str:
    if minimum == 0:
        return f"must not be negative (got {value})"
    return f"must be at least {minimum} (got {value})"
