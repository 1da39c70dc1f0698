"""Accuracy by breed group (seg/scoring/groups.py), exact on constructed confusion matrices, and as
seg.evaluate, train.py --test and the frontier table report it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seg.model.checkpoint import paths, read_meta
from seg.scoring.evaluate import main as evaluate_main
from seg.scoring.groups import group_gaps, group_report, groups_markdown

IDS = ["Abyssinian_1", "Bengal_2", "american_bulldog_3", "Persian_4", "pug_5"]


def confusion(correct: int, wrong: int) -> np.ndarray:
    """3x3: `correct` pet pixels right, `wrong` pet pixels called background."""
    return np.array([[correct, wrong, 0], [0, 0, 0], [0, 0, 0]])


PER_IMAGE = np.stack([confusion(9, 1), confusion(8, 2), confusion(7, 3), confusion(5, 5), confusion(1, 9)])


def test_groups_hold_the_right_images_and_exact_figures():
    report = group_report(PER_IMAGE, IDS, resamples=200)
    assert {g: (r["images"], r["breeds"]) for g, r in report.items()} == {
        "all": (5, 5), "three dominant breeds": (3, 3), "other breeds": (2, 2), "cats": (3, 3), "dogs": (2, 2)}
    assert report["all"]["pixel_accuracy"] == pytest.approx(30 / 50)
    assert report["three dominant breeds"]["pixel_accuracy"] == pytest.approx(24 / 30)
    assert report["other breeds"]["pixel_accuracy"] == pytest.approx(6 / 20)
    assert report["cats"]["pixel_accuracy"] == pytest.approx(22 / 30)  # Abyssinian, Bengal, Persian
    assert report["dogs"]["pixel_accuracy"] == pytest.approx(8 / 20)
    # mIoU: only pet and background occur; pet IoU = correct / 10, background IoU 0 (never predicted right)
    assert report["dogs"]["miou"] == pytest.approx((8 / 20 + 0) / 2)
    for entry in report.values():
        low, high = entry["pixel_accuracy_ci95"]
        assert low <= entry["pixel_accuracy"] <= high


def test_a_group_without_images_is_left_out():
    assert set(group_report(PER_IMAGE[:3], IDS[:3], resamples=50)) == {"all", "three dominant breeds", "dogs", "cats"}


def test_group_gaps_are_paired_differences():
    other = np.stack([confusion(10, 0)] * 5)
    gaps = group_gaps(other, PER_IMAGE, IDS, resamples=200)
    assert gaps["other breeds"]["pixel_accuracy"]["difference"] == pytest.approx(1 - 6 / 20)
    assert gaps["other breeds"]["images"] == 2


def test_markdown_has_a_column_per_group():
    table = groups_markdown({"segnet_dsc": group_report(PER_IMAGE, IDS, resamples=50)})
    assert table.splitlines()[0] == ("| model | all (5) | three dominant breeds (3) | other breeds (2) | cats (3) | "
                                     "dogs (2) |")
    assert "| `segnet_dsc` | 60.00% [" in table


def test_evaluate_and_the_metadata_agree_by_group(tmp_path, capsys):
    """train.py --test records the groups; seg.evaluate reports the same figures afresh."""
    from synthetic import make_oxford_layout

    import train

    root = make_oxford_layout(tmp_path / "pets", trainval=6, test=6)  # one breed, a cat's: three groups
    out = tmp_path / "out"
    argv = ["--data-root", str(root), "--out", str(out), "--cache-dir", str(out / "cache"), "--size", "32",
            "--batch-size", "2", "--quiet", "--model", "segnet_dsc", "--epochs", "1", "--test"]
    assert train.main(train.get_args_parser().parse_args(argv)) == 0
    weights = paths(out, "segnet_dsc")["weights"]
    final = read_meta(weights)["final"]
    capsys.readouterr()
    assert evaluate_main(["--checkpoint", str(weights), "--data-root", str(root), "--cache-dir", str(out / "cache"),
                          "--size", "32"]) == 0
    fresh = json.loads(capsys.readouterr().out)
    assert fresh["groups"] == final["groups"]
    assert final["groups"]["all"]["pixel_accuracy"] == pytest.approx(final["pixel_accuracy"], abs=1e-12)
    assert evaluate_main(["--compare", str(weights), str(weights), "--data-root", str(root),
                          "--cache-dir", str(out / "cache"), "--size", "32", "--resamples", "100"]) == 0
    compared = json.loads(capsys.readouterr().out)
    assert compared["a_minus_b_by_group"]["all"]["pixel_accuracy"]["difference"] == 0
    # --split validation: the checkpoint's own carve-out, whose last-epoch figure the history holds
    assert evaluate_main(["--checkpoint", str(weights), "--data-root", str(root), "--cache-dir", str(out / "cache"),
                          "--size", "32", "--split", "validation"]) == 0
    validation = json.loads(capsys.readouterr().out)
    meta = read_meta(weights)
    assert validation["images"] == len(meta["data"]["validation"]["image_ids"]) == 1
    assert validation["pixel_accuracy"] == pytest.approx(meta["history"][-1]["val_pixel_accuracy"], abs=1e-12)
