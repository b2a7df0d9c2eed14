"""YAML text to a node tree that remembers where every value was written.

Only the composer runs: the nodes keep the scalars' original text (so a rate
of 1.25 becomes Fraction("1.25"), never a float) and nothing is constructed
from tags, so YAML cannot create Python objects here. The libyaml parser is
used when ruamel.yaml.clib is installed; the pure-Python one is ~7x slower.
"""

from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from .errors import RuleError

_yaml = YAML(typ="safe", pure=False)


def parse(text: str, file: str, errors: list):
    """The root node of `text`, or None if it is empty or not YAML."""
    try:
        return _yaml.compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "not valid YAML"
        if exc.problem and exc.context and exc.context_mark and exc.context_mark is not mark:
            start = exc.context_mark
            problem += f" ({exc.context} at line {start.line + 1}, column {start.column + 1})"
        errors.append(RuleError(file, line, column, "", f"YAML syntax error: {problem}"))
    except YAMLError as exc:
        errors.append(RuleError(file, 1, 1, "", f"YAML syntax error: {exc}"))
    return None


def rule_files(directory) -> list[tuple[str, str]]:
    """(name, text) of every *.yaml and *.yml file in `directory`, sorted by name."""
    root = Path(directory)
    paths = sorted(p for p in root.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    return [(str(p), p.read_text(encoding="utf-8")) for p in paths]
