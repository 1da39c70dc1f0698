"""Measured results have one home: results/*.json, each written by one report module, and every
table in the README and docs/ is that module's markdown of its file."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT

from seg.files import RESULTS
from seg.reports import docs, store


def test_every_results_file_has_its_report_and_every_report_its_path():
    assert {p.name for p in RESULTS.glob("*.json")} <= set(docs.REPORTS)
    for name, module in docs.REPORTS.items():
        assert module.PATH == RESULTS / name and module.COMMAND and callable(module.markdown)


def test_the_committed_tables_are_their_files_markdown():
    assert docs.stale() == [], "python -m seg.reports --write-docs"


def test_a_table_that_differs_from_its_file_is_named_and_rewritten(tmp_path):
    (tmp_path / "docs").mkdir()
    frontier = docs.table("frontier.json")
    (tmp_path / "README.md").write_text("# x\n\n<!-- results/frontier.json -->\nold numbers\n"
                                        "<!-- end results/frontier.json -->\n")
    (tmp_path / "docs" / "a.md").write_text(f"<!-- results/frontier.json -->\n{frontier}\n"
                                            "<!-- end results/frontier.json -->\n")
    assert docs.stale(tmp_path) == ["README.md: results/frontier.json"]
    assert docs.write(tmp_path) == [tmp_path / "README.md"]
    assert docs.stale(tmp_path) == [] and frontier in (tmp_path / "README.md").read_text()


def test_a_missing_file_says_which_command_makes_it(monkeypatch, tmp_path):
    module = docs.REPORTS["upsampling.json"]
    monkeypatch.setattr(module, "PATH", tmp_path / "absent.json")
    monkeypatch.setattr(module, "load", lambda path=None: None)
    assert docs.table("upsampling.json") == f"_No `results/upsampling.json` yet: `{module.COMMAND}` measures it._"
    with pytest.raises(ValueError, match="no report writes results/nothing.json"):
        docs.table("nothing.json")


def test_store_round_trips_and_never_leaves_half_a_file(tmp_path):
    path = store.save(tmp_path / "r.json", {"a": [1, 2.5]})
    assert store.load(path) == {"a": [1, 2.5]} and json.loads(path.read_text()) == {"a": [1, 2.5]}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
    (tmp_path / "bad.json").write_text("{not json")
    assert store.load(tmp_path / "bad.json") is None and store.load(tmp_path / "none.json") is None


def test_the_cli_checks_and_rewrites(capsys):
    from seg.reports.__main__ import main

    assert main(["--check"]) == 0
    with pytest.raises(SystemExit):
        main([])  # one of --write-docs / --check is required


def test_tabs_only_load_results():
    """No tab measures into results/ or writes a file there: they read what the reports wrote."""
    for path in (ROOT / "seg" / "tabs").glob("*.py"):
        text = path.read_text()
        assert "store.save" not in text and "atomic_write" not in text, path.name


def test_the_comparison_has_a_gap_column_per_shipped_pair():
    from seg.reports import comparison

    segnet = json.loads((RESULTS / "comparison.json").read_text())["pairs"]["SegNet"]
    unet = json.loads(json.dumps(segnet))
    unet["a"]["model"], unet["b"]["model"] = "unet_regular", "unet_dsc"
    unet["a_minus_b"]["pixel_accuracy"] = {"difference": 0.0123, "ci95": [0.005, 0.02]}
    unet["a_minus_b_by_group"].pop("cats")
    one = comparison.markdown({"pairs": {"SegNet": segnet}, "command": "x"})
    both = comparison.markdown({"pairs": {"SegNet": segnet, "U-Net": unet}, "command": "x"})
    assert "| regular − DSC, points [95% CI] | SegNet |\n" in one and "U-Net" not in one
    assert "| regular − DSC, points [95% CI] | SegNet | U-Net |" in both
    assert "| `unet_regular` |" in both and "| 91.30% |" in both  # the article's U-Net beside ours
    assert "| **+1.23** [+0.50, +2.00] |" in both and "its own U-Net's, on the full dataset" in both
    cats = next(line for line in both.splitlines() if line.startswith("| pixel accuracy, cats"))
    assert cats.endswith("| – |")  # a group the other pair lacks


def test_each_wait_keeps_the_others_and_is_held_to_its_goal(tmp_path):
    from seg.machine import cpu_name
    from seg.reports import waits

    path = tmp_path / "waits.json"
    waits.record("quick", {"seconds": 29.5, "tests": "607 passed"}, path)
    waits.record("ready", {"seconds": 6.2, "min_s": 6.0, "max_s": 6.6, "runs": 5}, path)
    waits.record("full", {"seconds": 452.0, "tests": "816 passed"}, path)
    assert all(m["cpu"] == cpu_name() and m["date"] for m in waits.load(path).values())  # stamped by record
    text = waits.markdown(waits.load(path))
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines()[2:]}
    assert "| 29.5 s, 607 passed | < 30.0 s | ✅ |" in rows["the quick loop (`pytest -m \"not slow and not browser\"`)"]
    assert "| 7 min 32 s, 816 passed | < 5 min 00 s | ❌ |" in rows["the whole suite (`pytest`, the README's command)"]
    assert "6.2 s (6.0 s–6.6 s, 5 runs) | < 4.0 s | ❌ |" in rows["app: start to ready (the page answers)"]
    assert "not measured yet" in rows["app: start to the first masks (/segment asked as the page answers)"]
    with pytest.raises(ValueError, match="no such wait"):
        waits.record("lunch", {}, path)
