"""Package joints: the import graph has no cycle, and each package stays in its lane.

The graph is built with ``ast`` from the source files, without importing anything. Every
import counts: module level, inside functions (lazy imports), under ``TYPE_CHECKING``, and the
``"tripletforge.x.y:Class"`` strings of lazy registries (the backend registry imports them).
``from package import name`` is an edge to the submodule when ``name`` is one, else to the
package. Cycles are searched among modules and among the top-level packages
(``tripletforge.data``, ``tripletforge.generate``, …, and the single modules next to them).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "tripletforge"
SRC = Path(__file__).resolve().parents[1] / "src"
_TARGET = re.compile(rf"^({PACKAGE}(?:\.\w+)+):\w+$")


def modules() -> dict[str, tuple[Path, bool]]:
    """Dotted module name → (file, is a package ``__init__``)."""
    found = {}
    for path in (SRC / PACKAGE).rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _imports(name: str, path: Path, is_package: bool, known: set[str]) -> Iterator[str]:
    base = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                anchor = base
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                module = f"{anchor}.{module}" if module else anchor
            for alias in node.names:
                full = f"{module}.{alias.name}"
                yield full if full in known else module
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and (match := _TARGET.match(node.value))
        ):
            yield match.group(1)


def import_graph() -> dict[str, set[str]]:
    """Module → the package modules it imports (itself excluded)."""
    found = modules()
    known = set(found)
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in found.items():
        edges = set()
        for target in _imports(name, path, is_package, known):
            while target not in known and "." in target:
                target = target.rpartition(".")[0]  # a class or function of a module
            if target in known and target != name and target != PACKAGE:
                edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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


def top(name: str) -> str:
    return ".".join(name.split(".")[:2])


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for name, targets in graph.items():
        out.setdefault(top(name), set()).update(top(t) for t in targets if top(t) != top(name))
    return out


def test_the_graph_sees_every_kind_of_import() -> None:
    graph = import_graph()
    assert len(graph) > 100
    # lazy (function-level) imports and registry strings are edges too
    assert "tripletforge.generate.backends.vllm_backend" in graph["tripletforge.generate.backends"]
    assert "tripletforge.adapters.compose" in graph["tripletforge.generate.strategies.adapter"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_between_modules() -> None:
    assert cycles(import_graph()) == []


def test_no_import_cycle_between_packages() -> None:
    assert cycles(package_graph(import_graph())) == []


def test_each_package_imports_only_what_it_builds_on() -> None:
    packages = package_graph(import_graph())
    # adapters train, compose and export; generation applies them, never the other way round
    assert "tripletforge.generate" not in packages["tripletforge.adapters"]
    # data is the bottom layer: contracts and readers, used by every stage
    assert packages["tripletforge.data"] <= {"tripletforge.paths"}
    # stage libraries do not know the pipeline or the CLI that drive them
    for name in ("adapters", "connect", "data", "evaluate", "filter", "generate", "merge", "train"):
        assert not packages[f"tripletforge.{name}"] & {"tripletforge.pipeline", "tripletforge.cli"}


def test_the_runner_is_only_the_loop() -> None:
    runner = SRC / PACKAGE / "pipeline" / "runner.py"
    assert len(runner.read_text(encoding="utf-8").splitlines()) < 350
