"""The result tables of the README and docs/, generated from results/*.json: each sits between
`<!-- results/NAME.json -->` and `<!-- end results/NAME.json -->`, and is that report's markdown.

    python -m seg.reports --write-docs    # rewrite every table from its file
    python -m seg.reports --check         # exit 1 naming each table that differs from its file
"""

from __future__ import annotations

import re
from pathlib import Path

from seg.files import REPO
from seg.reports import bench, comparison, deploy, frontier, learning_curve, soak, upsampling, waits

REPORTS = {module.PATH.name: module for module in (frontier, learning_curve, comparison, upsampling, deploy, bench, soak,
                                                     waits)}
BLOCK = re.compile(r"<!-- results/(?P<name>[\w.]+) -->\n(?P<body>.*?)\n?<!-- end results/(?P=name) -->", re.S)


def documents(root: Path = REPO) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def table(name: str) -> str:
    """The markdown of results/NAME as it is now; a line saying how to make the file where it is missing."""
    if name not in REPORTS:
        raise ValueError(f"no report writes results/{name}; known: {', '.join(REPORTS)}")
    module = REPORTS[name]
    result = module.load()
    return module.markdown(result) if result else f"_No `results/{name}` yet: `{module.COMMAND}` measures it._"


def rendered(text: str) -> str:
    return BLOCK.sub(lambda m: block(m["name"]), text)


def block(name: str) -> str:
    return f"<!-- results/{name} -->\n{table(name)}\n<!-- end results/{name} -->"


def stale(root: Path = REPO) -> list[str]:
    """'file: results/NAME' for every table that differs from what its file gives."""
    found = []
    for path in documents(root):
        text = path.read_text()
        found += [f"{path.relative_to(root)}: results/{m['name']}" for m in BLOCK.finditer(text)
                  if m[0] != block(m["name"])]
    return found


def write(root: Path = REPO) -> list[Path]:
    changed = []
    for path in documents(root):
        text = path.read_text()
        if (new := rendered(text)) != text:
            path.write_text(new)
            changed.append(path)
    return changed
