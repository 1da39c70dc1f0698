"""How long a person waits on this project: the app from `python app.py` to its page and to its first
masks (`python -m tools.launch`), the quick test loop and the whole suite (`python -m tools.suite_time`),
each against the project's goal. results/waits.json, one section per command; docs/speed.md shows it.
"""

from __future__ import annotations

import datetime
import os

from seg.files import RESULTS
from seg.machine import cpu_name
from seg.reports import store

PATH = RESULTS / "waits.json"
COMMAND = "python -m tools.launch 5; python -m tools.suite_time --quick; python -m tools.suite_time"
# (section, what, goal in seconds or None, the command that measures it)
ROWS = (
    ("ready", "app: start to ready (the page answers)", 4, "python -m tools.launch 5"),
    ("first_masks", "app: start to the first masks (/segment asked as the page answers)", None,
     "python -m tools.launch 5"),
    ("quick", "the quick loop (`pytest -m \"not slow and not browser\"`)", 30, "python -m tools.suite_time --quick"),
    ("full", "the whole suite (`pytest`, the README's command)", 300, "python -m tools.suite_time"),
)


def load(path=PATH) -> dict | None:
    return store.load(path)


def record(section: str, measured: dict, path=PATH) -> None:
    """Keep one section's new measurement, stamped with this machine and the day, beside the
    others' (each command measures its own)."""
    if section not in {row[0] for row in ROWS}:
        raise ValueError(f"no such wait: {section!r}")
    stamp = {"cpu": cpu_name(), "cpus": os.cpu_count(), "date": datetime.date.today().isoformat()}
    store.save(path, {**(store.load(path) or {}), section: {**measured, **stamp}})


def seconds_text(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 100 else f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def markdown(result: dict) -> str:
    lines = ["| wait | measured | goal | met | on | command |", "|---|---:|---:|:-:|---|---|"]
    for section, what, goal, command in ROWS:
        m = result.get(section)
        if m is None:
            lines.append(f"| {what} | not measured yet | {goal_text(goal)} | | | `{command}` |")
            continue
        spread = ""
        if m.get("runs", 1) > 1:
            spread = f" ({seconds_text(m['min_s'])}–{seconds_text(m['max_s'])}, {m['runs']} runs)"
        tests = f", {m['tests']}" if m.get("tests") else ""
        met = "" if goal is None else ("✅" if m["seconds"] < goal else "❌")
        lines.append(f"| {what} | {seconds_text(m['seconds'])}{spread}{tests} | {goal_text(goal)} | {met} | "
                     f"{m['cpu']}, {m['cpus']} CPUs, {m['date']} | `{command}` |")
    return "\n".join(lines)


def goal_text(goal) -> str:
    return "—" if goal is None else f"< {seconds_text(goal)}"
