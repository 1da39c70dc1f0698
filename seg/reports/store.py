"""Reading and writing the measured JSON files of results/: one file per report, written atomically."""

from __future__ import annotations

import json
from pathlib import Path

from seg.files import atomic_write


def load(path) -> dict | None:
    """The file's content; None where it is missing or not JSON (the app then says how to make it)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def save(path, data: dict) -> Path:
    atomic_write(Path(path), lambda tmp: tmp.write_text(json.dumps(data, indent=1) + "\n"))
    return Path(path)
