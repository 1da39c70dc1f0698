"""The shape of the code: packages that import only downward, no import cycles in seg/, a top level of
packages and thin command modules, no file over 300 lines, app.py only wires."""

from __future__ import annotations

import ast
import re
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
    assert "seg.serve.inference" in graph and "seg.model.fastpath" in graph["seg.serve.inference"]
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


# What each package may import, besides itself: the architecture, lowest first. A package's
# __init__ docstring says the same in words.
BASE = {"seg", "seg.files", "seg.machine"}
MAY_IMPORT = {
    "seg.files": set(), "seg.machine": set(),
    "seg.model": BASE,
    "seg.data": BASE,
    "seg.scoring": BASE | {"seg.model", "seg.data"},
    "seg.train": BASE | {"seg.model", "seg.data", "seg.scoring"},
    "seg.serve": BASE | {"seg.model", "seg.data", "seg.scoring"},
    "seg.dsc": BASE | {"seg.model"},
    "seg.deploy": BASE | {"seg.model", "seg.data", "seg.scoring", "seg.serve"},
    "seg.reports": BASE | {"seg.model", "seg.data", "seg.scoring", "seg.train", "seg.serve", "seg.deploy"},
    "seg.tabs": BASE | {"seg.model", "seg.data", "seg.scoring", "seg.train", "seg.serve", "seg.deploy", "seg.reports",
                        "seg.dsc"},
}
TOP_LEVEL_OTHERS = {"files", "machine"}  # every other module at seg/'s top is a thin command module
THIN_LINES = 15


def package_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """'importer -> imported' for each import that crosses packages against MAY_IMPORT."""
    found = []
    for importer, imported in sorted(graph.items()):
        allowed = MAY_IMPORT.get(package_of(importer))
        if allowed is None:
            continue  # a thin command module re-exports any package
        found += [f"{importer} -> {m}" for m in sorted(imported)
                  if package_of(m) != package_of(importer) and package_of(m) not in allowed]
    return found


def test_packages_import_only_downward():
    graph = import_graph()
    assert {package_of(m) for m in graph if m.count(".") > 1} == set(MAY_IMPORT) - {"seg.files", "seg.machine"}
    assert upward_imports(graph) == []


def test_an_upward_import_between_packages_is_found(tmp_path):
    package = tmp_path / "seg"
    for sub in ("model", "serve"):
        (package / sub).mkdir(parents=True)
        (package / sub / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "serve" / "photos.py").write_text("from seg.model.config import PAIR\n")
    (package / "model" / "config.py").write_text("from ..serve import photos\n")
    assert upward_imports(import_graph(package, tmp_path)) == ["seg.model.config -> seg.serve",
                                                               "seg.model.config -> seg.serve.photos"]


def test_the_top_level_holds_packages_and_thin_command_modules():
    for path in sorted(SEG.glob("*.py")):
        if path.stem in TOP_LEVEL_OTHERS:
            continue
        lines = path.read_text().splitlines()
        assert len(lines) <= THIN_LINES, f"{path.name}: a top-level module re-exports one package's module"
        sources = {n.module for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ImportFrom)}
        assert len(sources - {None}) == 1 and package_of(sources.pop()) in MAY_IMPORT, path.name


@pytest.mark.parametrize("package", sorted(p.parent.name for p in SEG.glob("*/__init__.py")))
def test_every_package_says_what_lives_there(package):
    doc = ast.get_docstring(ast.parse((SEG / package / "__init__.py").read_text()))
    assert doc and len(doc.splitlines()) <= 5, f"seg/{package}/__init__.py: two lines on what lives there"


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


def architecture_names(text: str) -> set[str]:
    """Every file docs/architecture.md names: `seg/x/y.py` in prose, and the tree's entries."""
    named = set(re.findall(r"\b((?:seg|tools|scripts|tests)/[\w/]+\.py)\b", text))
    tree = text.split("```")[1]
    folder = None
    for line in tree.splitlines():
        head = re.split(r"\s{2,}", line.strip())[0]
        if not line.startswith(" ") and head.startswith("seg/"):
            folder = head if head.endswith("/") else None
            named.add(head)
        elif folder and line.startswith("  ") and head.endswith(".py"):
            named |= {folder + name.strip() for name in head.split(",")}
    return named


def test_the_architecture_doc_names_every_package_and_only_files_that_exist():
    named = architecture_names((ROOT / "docs" / "architecture.md").read_text())
    missing = sorted(n for n in named if not (ROOT / n).exists())
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"
    packages = {f"seg/{p.parent.name}/" for p in SEG.glob("*/__init__.py")}
    assert packages <= named, f"packages docs/architecture.md does not name: {sorted(packages - named)}"


def test_the_architecture_check_catches_a_stale_name():
    text = "```\nseg/model/\n  config.py   x\n  gone.py     y\nseg/files.py  z\n```\nsee `seg/serve/nope.py`"
    assert {"seg/model/gone.py", "seg/serve/nope.py", "seg/files.py"} <= architecture_names(text)


def broken_links(root: Path = ROOT) -> list[str]:
    """'page -> target' for every relative link of the README and docs/ whose file is missing."""
    pages = [root / "README.md", root / "scripts" / "README.md", *sorted((root / "docs").glob("*.md"))]
    return [f"{page.relative_to(root)} -> {link}" for page in pages if page.exists()
            for link in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text())
            if not link.startswith(("http://", "https://")) and not (page.parent / link).exists()]


def test_every_link_of_the_docs_leads_somewhere(tmp_path):
    assert broken_links() == []
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("[a](docs/a.md) [b](docs/gone.md#x) [web](https://example.org)")
    (tmp_path / "docs" / "a.md").write_text("[up](../README.md)")
    assert broken_links(tmp_path) == ["README.md -> docs/gone.md"]
