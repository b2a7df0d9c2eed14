"""The layout the architecture promises, checked on the code itself.

Only the ledger writes points; imports form no cycle; the top of ``loyalty/``
holds only the factory and its few shared pieces; modules and functions stay
small enough to read.
"""

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "loyalty"
TOP_LEVEL = {"__init__.py", "extensions.py", "errors.py", "clock.py", "ids.py"}
POINT_TABLES = {"LedgerEntry", "Lot", "LotDraw"}
POINT_TOTALS = {"balance", "pending", "lifetime_earned", "lifetime_redeemed"}
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def modules() -> dict[str, Path]:
    return {".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): path
            for path in PACKAGE.rglob("*.py")}


def in_ledger(path: Path) -> bool:
    return path.is_relative_to(PACKAGE / "ledger")


def point_writes(tree: ast.AST) -> list[str]:
    """Writes of points this module makes itself: totals assigned, point rows built, inserted or updated."""
    found = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
            if isinstance(node, ast.AugAssign) else []
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr in POINT_TOTALS | {"remaining"}:
                found.append(f"line {node.lineno}: assigns .{target.attr}")
        if isinstance(node, ast.Call):
            called = node.func
            name = called.id if isinstance(called, ast.Name) else called.attr if isinstance(called, ast.Attribute) \
                else None
            if name in POINT_TABLES:
                found.append(f"line {node.lineno}: builds a {name}")
            if name in {"insert", "update", "delete"} and any(
                    isinstance(arg, ast.Name) and arg.id in POINT_TABLES for arg in node.args):
                found.append(f"line {node.lineno}: {name}({node.args[0].id})")
    return found


def test_only_the_ledger_writes_entries_lots_draws_and_point_totals():
    offenders = {}
    for name, path in modules().items():
        if in_ledger(path) or path.is_relative_to(PACKAGE / "models"):
            continue
        writes = point_writes(ast.parse(path.read_text()))
        if writes:
            offenders[name] = writes
    assert offenders == {}


def test_the_check_finds_a_point_write_outside_the_ledger():
    tree = ast.parse("member.balance += 5\nsession.execute(update(Lot).values(remaining=0))\n")
    assert len(point_writes(tree)) == 2


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports (``from a import b`` counts ``a.b`` when it is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {module for module in found if module in known and module != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    """Package faces (``__init__.py``) are left out: importing a package's module passes through its face."""
    known = modules()
    graph = defaultdict(set)
    for name, path in known.items():
        if path.name == "__init__.py":
            continue
        graph[name] = {module for module in imports_of(name, path, set(known))
                       if known[module].name != "__init__.py"}
    for name in list(graph):
        graph[name] &= set(graph)
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_extensions_import_nothing_of_the_app():
    assert imports_of("loyalty.extensions", PACKAGE / "extensions.py", set(modules())) == set()


def test_only_the_factory_and_shared_pieces_lie_at_the_top():
    assert {path.name for path in PACKAGE.glob("*.py")} == TOP_LEVEL


@pytest.mark.parametrize("name", sorted(modules()))
def test_modules_and_functions_stay_small(name):
    path = modules()[name]
    text = path.read_text()
    lines = len(text.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines"
    long_functions = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long_functions == []
