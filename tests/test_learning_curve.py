"""seg.learning_curve: which runs count, the line through them, what it says about the floor, the
committed file against the shipped checkpoints, and the Training tab's chart of it."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from conftest import ROOT

from seg.model.variants import article_figures
from seg.reports import learning_curve as lc
from seg.tabs.training import TrainingRecord
from seg.train.recipes import ARTICLE_TRAIN_IMAGES, RECIPES

GAIN, AT_80 = 0.03, 0.70  # the constructed curve: 70% at 80 images, +3 points per doubling


def write_run(folder, model, images, val, seed=0, epochs=None, done=None, limit=None, **recipe_changes):
    epochs = epochs or EQUAL_EPOCHS[images]
    recipe = dataclasses.asdict(dataclasses.replace(RECIPES["default"], epochs=epochs, **recipe_changes))
    meta = {"model": model, "recipe": recipe, "epochs_done": epochs if done is None else done,
            "data": {"split_sizes": {"train": images, "validation": 76}},
            "training": {"seed": seed, "limit": limit},
            "history": [{"epoch": epochs, "val_pixel_accuracy": val}]}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{model}.json").write_text(json.dumps(meta))
    return folder


EQUAL_EPOCHS = {80: 200, 160: 100, 320: 50}  # 2,000 steps of batch 8 each


def on_line(images):
    return AT_80 + GAIN * math.log2(images / 80)


@pytest.fixture
def runs(tmp_path):
    folders = [write_run(tmp_path / f"{m}-{n}", m, n, on_line(n) - (0.01 if m == "segnet_dsc" else 0))
               for m in lc.FLOOR for n in EQUAL_EPOCHS]
    write_run(tmp_path / "copy", "segnet_dsc", 320, on_line(320) - 0.01)  # the same run again: counts once
    # None of these is a point of the curve:
    write_run(tmp_path / "lr", "segnet_dsc", 160, 0.99, lr=1e-3)  # another recipe
    write_run(tmp_path / "short", "segnet_dsc", 160, 0.99, epochs=97)  # 3% fewer steps
    write_run(tmp_path / "stopped", "segnet_dsc", 80, 0.99, done=100)  # unfinished
    write_run(tmp_path / "smoke", "segnet_dsc", 80, 0.99, limit=32)  # a --limit run: another validation split
    return folders + [tmp_path / name for name in ("copy", "lr", "short", "stopped", "smoke")]


def test_only_finished_default_runs_at_equal_steps_count_once_each(runs):
    points = lc.read_points(runs)
    assert [(p["model"], p["images"]) for p in points] == [(m, n) for m in lc.FLOOR for n in (80, 160, 320)]
    assert all(p["val_pixel_accuracy"] < 0.9 for p in points)


DROPS = {"segnet_regular": 0.015, "segnet_dsc": 0.01}


def shipped(drops=DROPS, test=0.80, images=320):
    return {m: {"val": test + d, "test": test, "images": images} for m, d in drops.items()}


def test_the_line_and_what_it_needs_for_the_floor_are_exact_on_a_constructed_curve(runs):
    drops = DROPS
    fits = lc.summarise(lc.read_points(runs), shipped())
    for model, offset in (("segnet_regular", 0.0), ("segnet_dsc", 0.01)):
        fit = fits[model]
        assert fit["gain_per_doubling"] == pytest.approx(GAIN)
        assert fit["at_trainval_here"] == pytest.approx(on_line(lc.IMAGES_HERE) - offset)
        assert fit["at_full_trainval"] == pytest.approx(on_line(ARTICLE_TRAIN_IMAGES) - offset)
        # where the line reaches floor + drop: 80 * 2^((target - value at 80) / gain)
        target = lc.FLOOR[model] + drops[model]
        assert fit["images_for_floor"] == pytest.approx(80 * 2 ** ((target - (AT_80 - offset)) / GAIN))
        # the line from (320, 80% test) to the article's figure at 3,680 images
        gain = (article_figures()[model] - 0.80) / math.log2(ARTICLE_TRAIN_IMAGES / 320)
        assert fit["test_gain_per_doubling_to_article"] == pytest.approx(gain)
        assert fit["images_for_floor_via_article"] == pytest.approx(320 * 2 ** ((lc.FLOOR[model] - 0.80) / gain))


def test_a_flat_line_never_reaches_the_floor_and_one_size_gives_no_line(tmp_path):
    flat = [write_run(tmp_path / str(n), "segnet_dsc", n, 0.8) for n in (80, 160)]
    assert lc.summarise(lc.read_points(flat), shipped())["segnet_dsc"]["images_for_floor"] is None
    assert lc.summarise(lc.read_points(flat[:1]), shipped()) == {}


def test_the_command_writes_the_file_and_markdown_reads_it_back(runs, tmp_path, capsys):
    folder = tmp_path / "shipped"
    for model in lc.FLOOR:
        write_run(folder, model, 320, 0.84)
        meta = json.loads((folder / f"{model}.json").read_text())
        (folder / f"{model}.json").write_text(json.dumps({**meta, "final": {"pixel_accuracy": 0.83}}))
    out = tmp_path / "curve.json"
    assert lc.main([*map(str, runs), "--shipped", str(folder), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    curve = json.loads(out.read_text())
    assert curve["fits"]["segnet_dsc"]["val_to_test_drop"] == pytest.approx(0.01)
    assert lc.main(["--markdown", "--out", str(out)]) == 0
    assert capsys.readouterr().out == printed


def test_without_two_sizes_or_a_file_the_command_says_so(tmp_path, capsys):
    assert lc.main([str(write_run(tmp_path / "one", "segnet_dsc", 80, 0.8)), "--out", str(tmp_path / "c.json")]) == 2
    assert "no model has finished default-recipe runs at two training-set sizes" in capsys.readouterr().err
    assert lc.main(["--markdown", "--out", str(tmp_path / "missing.json")]) == 2
    assert "no learning-curve file at" in capsys.readouterr().err


def test_the_committed_curve_is_its_own_points_fitted_with_the_shipped_checkpoints_figures():
    curve = lc.load()
    assert curve is not None, "results/learning_curve.json is part of the repository (python -m seg.learning_curve)"
    refit = lc.summarise(curve["points"], lc.shipped_results(ROOT / "checkpoints"))
    assert refit.keys() == curve["fits"].keys()
    for model, fit in refit.items():
        assert fit == pytest.approx(curve["fits"][model])


def test_the_training_tab_plots_the_curve_and_says_what_it_needs(runs, tmp_path):
    out = tmp_path / "curve.json"
    fits = lc.summarise(lc.read_points(runs), shipped())
    out.write_text(json.dumps({"points": lc.read_points(runs), "fits": fits, "command": "python -m seg.learning_curve x"}))
    record = TrainingRecord(tmp_path / "no-checkpoints", data_root=tmp_path / "nowhere", curve_path=out)
    figure = record.curve_figure()
    stars = [t for t in figure.data if t.marker.symbol == "star"]
    assert [t.y[0] for t in stars] == [article_figures()[m] for m in lc.FLOOR]
    assert [list(t.x) for t in figure.data if t.mode == "markers" and t.marker.symbol != "star"] == [[80, 160, 320]] * 2
    caption = record.curve_caption()
    assert f"about **{fits['segnet_regular']['images_for_floor']:,.0f}** training images" in caption
    assert "+3.0 points" in caption and "(here: 320)" in caption
    assert TrainingRecord(tmp_path / "no-checkpoints", data_root=tmp_path, curve_path=tmp_path / "none").curve is None
