"""The accuracy-against-cost frontier: its file, its figure and table, its re-timing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gradio import Error as GradioError

from seg.model.cost import model_cost
from seg.model.variants import VARIANTS
from seg.reports import frontier as frontier_report
from seg.reports.frontier import AXES
from seg.reports.frontier import main as frontier_main
from seg.serve.models import Models
from seg.tabs.results import ResultsTab

ROOT = Path(__file__).resolve().parents[1]


def point(name, acc, ms, mb):
    totals = model_cost(name)["totals"]
    return {"model": name, "pixel_accuracy": acc, "pixel_accuracy_ci95": [acc - 0.01, acc + 0.02], "miou": acc - 0.2,
            "miou_ci95": [0, 1], "iou": {}, "images": 340, "size": 128, "params": totals["params"],
            "mult_adds": totals["mult_adds"], "megabytes": mb, "ms": ms, "recipe": "default", "epochs": 70}


@pytest.fixture
def frontier_file(tmp_path):
    points = [point("segnet_regular", 0.85, 50.0, 61.1), point("segnet_dsc", 0.84, 20.0, 7.0),
              point("segnet_dsc_deep", 0.845, 30.0, 8.9)]
    path = tmp_path / "frontier.json"
    path.write_text(json.dumps({"points": points, "split": "test", "resamples": 1000, "bootstrap_seed": 0,
                                "timing": {"cpu": "Test CPU", "threads": 2, "reps": 5, "batch": 1}}))
    return path


@pytest.fixture(scope="module")
def models(tiny_checkpoints):
    return Models(tiny_checkpoints)


def plotted(figure):
    """{variant title: (x, y, error below, error above)} of the figure's point traces."""
    return {t.name: (t.x[0], t.y[0], t.error_y.arrayminus[0], t.error_y.array[0])
            for t in figure.data if t.mode == "markers+text"}


@pytest.mark.parametrize("axis", list(AXES))
def test_one_point_per_variant_at_the_files_values(models, frontier_file, axis):
    tab = ResultsTab(models, frontier_file)
    points = json.loads(frontier_file.read_text())["points"]
    shown = plotted(tab.figure(axis))
    assert len(shown) == len(points)
    titles = {"segnet_regular": "Regular SegNet", "segnet_dsc": "DSC SegNet", "segnet_dsc_deep": "Deep-DSC SegNet"}
    for p in points:
        x, y, below, above = shown[titles[p["model"]]]
        assert x == p[axis] and y == p["pixel_accuracy"]
        assert (below, above) == pytest.approx((0.01, 0.02))
    assert tab.figure(axis).layout.xaxis.type == ("log" if AXES[axis][1] else "linear")


def test_each_architecture_has_its_regular_to_dsc_segment(models, frontier_file):
    from seg.tabs.charts import frontier_figure

    points = json.loads(frontier_file.read_text())["points"]
    segments = lambda pts: {t.name: list(t.x) for t in frontier_figure(pts, "params", "", True,  # noqa: E731
                                                                          {n: n for n in VARIANTS}).data
                            if t.mode == "lines"}
    assert segments(points) == {"SegNet: regular ⟷ DSC": [15_274_889, 1_749_668]}
    unets = [point("unet_regular", 0.86, 40.0, 31.1), point("unet_dsc", 0.85, 15.0, 6.1)]
    assert segments(points + unets)["U-Net: regular ⟷ DSC"] == [7_763_113, 1_513_508]
    assert set(segments(points[1:] + unets)) == {"U-Net: regular ⟷ DSC"}  # half a pair: no segment


def test_the_table_has_every_variant_with_shares_of_the_regular(models, frontier_file):
    table = ResultsTab(models, frontier_file).table()
    assert "| `segnet_dsc` | 84.00% [83.00%, 86.00%] |" in table
    assert "| 20.0 (40%) | 7.0 (11%) |" in table and "Test CPU, 2 threads" in table


def test_timing_here_replaces_the_files_milliseconds(models, frontier_file):
    tab = ResultsTab(models, frontier_file)
    figure, table, measured = tab.measure_here("ms")
    assert set(measured) == {"segnet_regular", "segnet_dsc", "segnet_dsc_deep"} and all(v > 0 for v in measured.values())
    assert {x for x, *_ in plotted(figure).values()} == set(measured.values())
    assert "measured here" in table
    with pytest.raises(GradioError, match="Unknown axis"):
        tab.figure("colour")


def test_without_a_file_the_command_is_named(models, tmp_path, capsys):
    assert ResultsTab(models, tmp_path / "none.json").frontier is None
    assert frontier_main(["--markdown", "--out", str(tmp_path / "none.json")]) == 2
    assert "python -m seg.frontier" in capsys.readouterr().err


def test_the_shipped_frontier_matches_the_checkpoints_and_the_cost_model():
    """results/frontier.json: one point per shipped checkpoint; accuracy = its metadata's fresh test
    score (tests/test_shipped.py checks that against a new evaluation); costs = the cost model."""
    frontier = json.loads(frontier_report.PATH.read_text())
    shipped = [n for n in VARIANTS if (ROOT / "checkpoints" / f"{n}.safetensors").exists()]
    assert [p["model"] for p in frontier["points"]] == shipped
    for p in frontier["points"]:
        meta = json.loads((ROOT / "checkpoints" / f"{p['model']}.json").read_text())
        assert p["pixel_accuracy"] == pytest.approx(meta["final"]["pixel_accuracy"], abs=1e-9)
        assert p["pixel_accuracy_ci95"][0] < p["pixel_accuracy"] < p["pixel_accuracy_ci95"][1]
        totals = model_cost(p["model"])["totals"]
        assert (p["params"], p["mult_adds"]) == (totals["params"], totals["mult_adds"]) == (meta["params"], meta["mult_adds"])
        weights = ROOT / "checkpoints" / f"{p['model']}.safetensors"
        assert p["megabytes"] == pytest.approx(weights.stat().st_size / 1e6)
        assert p["groups"] == meta["final"]["groups"], "by breed group: the figures train.py --test recorded"
    tables = frontier_report.markdown(frontier)
    for part in tables.split("by breed group"):  # a row per variant in each table
        assert [line.split("`")[1] for line in part.splitlines() if line.startswith("| `")] == shipped
