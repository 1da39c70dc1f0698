"""The shape of the code: no import cycles in seg/, no file over 300 lines, app.py only wires."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import ROOT

SEG = ROOT / "seg"
MAX_LINES = 300


def module_name(path: Path, base: Path = ROOT) -> str:
    parts = path.relative_to(base).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_imports(path: Path, base: Path = ROOT) -> set[str]:
    """The seg.* modules a file imports, relative imports resolved."""
    package = module_name(path, base).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("seg")}
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            if target.startswith("seg"):
                # `from . import x` and `from .tabs import cost` name modules, not attributes
                found |= {f"{target}.{a.name}" for a in node.names} | {target}
    return found


def import_graph(root: Path = SEG, base: Path = ROOT) -> dict[str, set[str]]:
    modules = {module_name(p, base): p for p in root.rglob("*.py")}
    return {name: {m for m in project_imports(path, base) if m in modules and m != name}
            for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_seg_has_no_import_cycle():
    graph = import_graph()
    assert "seg.inference" in graph and "seg.fastpath" in graph["seg.inference"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_one_through_every_import_form(tmp_path):
    package = tmp_path / "seg"
    (package / "tabs").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from .b import thing\n")
    (package / "b.py").write_text("import seg.tabs.c\n")
    (package / "tabs" / "c.py").write_text("from ..a import other\n")
    graph = import_graph(package, tmp_path)
    assert find_cycle(graph) == ["seg.a", "seg.b", "seg.tabs.c", "seg.a"]
    (package / "tabs" / "c.py").write_text("import numpy\n")
    assert find_cycle(import_graph(package, tmp_path)) is None


def test_runtime_package_imports_neither_the_app_nor_the_scripts():
    for path in SEG.rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and not n.level}
        assert not names & {"app", "train", "bench", "tools", "tools.launch"}, path


@pytest.mark.parametrize("path", sorted(p.relative_to(ROOT) for p in ROOT.rglob("*.py")
                                         if not {".git", ".venv", "artifacts"} & set(p.parts)), ids=str)
def test_no_file_is_over_300_lines(path):
    assert len((ROOT / path).read_text().splitlines()) <= MAX_LINES
