"""The paired bootstrap behind `python -m seg.evaluate --compare`, on cases with known answers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from synthetic import make_oxford_layout

import train
from seg.model.checkpoint import paths
from seg.scoring.bootstrap import bootstrap_interval, paired_bootstrap, summary_metrics
from seg.scoring.evaluate import main as evaluate_main


def confusion(correct, wrong):
    """One image of 100 pixels over two classes, `wrong` of them mislabelled."""
    return np.array([[correct, wrong], [0, 100 - correct - wrong]], dtype=float)


def test_identical_gap_on_every_image_gives_a_degenerate_interval():
    a = np.stack([confusion(50, 0)] * 30)
    b = np.stack([confusion(45, 5)] * 30)
    gap = paired_bootstrap(a, b, resamples=500)
    assert gap["pixel_accuracy"]["difference"] == pytest.approx(0.05)
    assert gap["pixel_accuracy"]["ci95"] == pytest.approx([0.05, 0.05])


def test_one_models_interval_matches_the_normal_approximation_of_its_accuracy():
    # Half the images 100% right, half 90%: accuracy 0.95, per-image sd 0.05, so over n=400
    # images the 95% interval is 0.95 +- 1.96 * 0.05 / sqrt(400); constant images: no spread.
    n = 400
    stack = np.stack([confusion(40, 10) if i % 2 else confusion(50, 0) for i in range(n)])
    low, high = bootstrap_interval(stack, resamples=20_000)["pixel_accuracy"]
    half = 1.96 * 0.05 / np.sqrt(n)
    assert low == pytest.approx(0.95 - half, abs=3e-4) and high == pytest.approx(0.95 + half, abs=3e-4)
    assert bootstrap_interval(np.stack([confusion(45, 5)] * 20), 500)["pixel_accuracy"] == pytest.approx([0.95, 0.95])
    with pytest.raises(ValueError, match="images, C, C"):
        bootstrap_interval(np.zeros((0, 2, 2)))


def test_interval_matches_the_normal_approximation_of_a_mean():
    # Every image has 100 pixels; A beats B by 4 pixels on half of them, ties on the rest.
    # The gap is the mean of per-image gaps d in {0.04, 0}: mean 0.02, sd 0.02, so the 95%
    # interval of the mean over n=400 images is 0.02 +- 1.96 * 0.02 / sqrt(400).
    n = 400
    a = np.stack([confusion(50, 0)] * n)
    b = np.stack([confusion(46, 4) if i % 2 else confusion(50, 0) for i in range(n)])
    low, high = paired_bootstrap(a, b, resamples=20_000)["pixel_accuracy"]["ci95"]
    half = 1.96 * 0.02 / np.sqrt(n)
    assert low == pytest.approx(0.02 - half, abs=3e-4) and high == pytest.approx(0.02 + half, abs=3e-4)


def test_pairing_cancels_what_both_models_share():
    # Hard and easy images swing both models alike; B is exactly 1 pixel worse on every image.
    # Resampled independently the gap would swing by several points; paired it cannot move.
    wrong = np.random.default_rng(0).integers(0, 50, 200)
    a = np.stack([confusion(50 - w, w) for w in wrong])
    b = np.stack([confusion(49 - w, w + 1) for w in wrong])
    lo, hi = paired_bootstrap(a, b, resamples=2000)["pixel_accuracy"]["ci95"]
    assert lo == pytest.approx(0.01) and hi == pytest.approx(0.01)


def test_summary_metrics_skip_a_class_nobody_has():
    m = summary_metrics(np.array([[8, 2, 0], [0, 10, 0], [0, 0, 0]], dtype=float))
    assert m["pixel_accuracy"] == pytest.approx(0.9)
    assert m["miou"] == pytest.approx((0.8 + 10 / 12) / 2)


def test_shapes_must_agree():
    with pytest.raises(ValueError, match="stacks of one shape"):
        paired_bootstrap(np.zeros((3, 2, 2)), np.zeros((4, 2, 2)))


@pytest.mark.slow
def test_compare_cli_reports_both_models_and_their_gap(tmp_path, capsys):
    root = make_oxford_layout(tmp_path / "pets", trainval=6, test=5)
    argv = ["--data-root", str(root), "--out", str(tmp_path), "--cache-dir", str(tmp_path / "cache"),
            "--size", "32", "--epochs", "1", "--batch-size", "2", "--quiet", "--test"]
    assert train.main(train.get_args_parser().parse_args(argv)) == 0
    weights = [str(paths(tmp_path, n)["weights"]) for n in ("segnet_regular", "segnet_dsc")]
    capsys.readouterr()
    common = ["--data-root", str(root), "--cache-dir", str(tmp_path / "cache"), "--resamples", "200"]
    assert evaluate_main(["--compare", *weights, *common]) == 0
    report = json.loads(capsys.readouterr().out)
    metas = [json.loads(paths(tmp_path, n)["meta"].read_text()) for n in ("segnet_regular", "segnet_dsc")]
    assert report["images"] == 5 and report["a"]["model"] == "segnet_regular"
    assert report["a"]["pixel_accuracy"] == metas[0]["final"]["pixel_accuracy"]
    assert report["b"]["pixel_accuracy"] == metas[1]["final"]["pixel_accuracy"]
    gap = report["a_minus_b"]["pixel_accuracy"]
    assert gap["difference"] == pytest.approx(report["a"]["pixel_accuracy"] - report["b"]["pixel_accuracy"])
    assert gap["ci95"][0] <= gap["difference"] <= gap["ci95"][1]
    assert evaluate_main(["--compare", weights[0], str(tmp_path / "missing.safetensors"), *common]) == 2
    assert "missing.safetensors" in capsys.readouterr().err
