"""Rules YAML → a compiled Program, or RulesInvalid listing every problem."""

import hashlib
from pathlib import Path

from ruamel.yaml.nodes import MappingNode

from .checker import Checker
from .document import parse, rule_files
from .errors import RuleError, RulesInvalid
from .grammar import SECTIONS, build
from .program import Program


def load_program(text: str, filename: str = "program.yaml") -> Program:
    return _compile([(filename, text)])


def load_program_dir(path) -> Program:
    """Every *.yaml / *.yml file in `path`, merged: a top-level key may appear
    in one file only, except `rules`, whose lists are joined in file-name order."""
    files = rule_files(path)
    if not files:
        raise RulesInvalid([RuleError(str(Path(path)), 1, 1, "", "no *.yaml or *.yml files found")])
    return _compile(files)


def source_hash(files: list[tuple[str, str]]) -> str:
    """sha256 of the text; for several files, of each name and text in order."""
    if len(files) == 1:
        return hashlib.sha256(files[0][1].encode("utf-8")).hexdigest()
    digest = hashlib.sha256()
    for name, text in files:
        digest.update(f"# file: {Path(name).name}\n".encode())
        digest.update(text.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def _compile(files: list[tuple[str, str]]) -> Program:
    errors: list[RuleError] = []
    sections: dict = {}
    rule_nodes: list = []
    roots = [(Checker(errors, file), parse(text, file, errors)) for file, text in files]
    for c, root in roots:
        if root is not None and not isinstance(root, MappingNode):
            c.error(root, "", f"expected the sections {', '.join(SECTIONS)}")
    if errors:  # the YAML itself is broken: its sections cannot be trusted
        raise RulesInvalid(errors)
    for c, root in roots:
        top = c.mapping(root, "", SECTIONS) if root is not None else {}
        for name, node in (top or {}).items():
            if name == "rules":
                for i, item in enumerate(c.sequence(node, "rules") or ()):
                    rule_nodes.append((c, item, f"rules[{i}]"))
            elif name in sections:
                c.error(node, name, f"'{name}' is already defined in {sections[name][0].file}")
            else:
                sections[name] = (c, node)
    program = build(sections, rule_nodes, errors, source_hash(files), files[0][0])
    if errors or program is None:
        raise RulesInvalid(errors)
    return program
