"""Validation pixel accuracy against the number of training images, and what the floor needs.

    python scripts/learning_curve.py checkpoints runs/default-dsc-seed1 runs/curve/*
Each finished run of the default recipe at equal optimizer steps (epochs scaled to the
training images: `train.py --train-images N`) is one point; per model, a least-squares line
through validation pixel accuracy against log2(training images) gives the gain per doubling,
and with the shipped checkpoints' validation-to-test drop, the training images at which the
line reaches issue #9's test floor. A line in log2(images) is generous far from the data
(learning curves bend down), so those counts are lower bounds. Reads metadata only: no model
is run, and the only test figures used are the shipped checkpoints' recorded ones.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seg.recipes import RECIPES, differences, from_metadata  # noqa: E402

FLOOR = {"segnet_regular": 0.85, "segnet_dsc": 0.84}  # issue #9's test pixel accuracy floor
SEED_FULL_DATA = {"segnet_regular": 0.8828, "segnet_dsc": 0.8696}  # the article, 3,680 trainval images
FULL_TRAINVAL, OURS = 3680, 355
EQUAL_STEPS = 2800  # the default recipe's 70 epochs of 40 batches of 8 (319 images): every point's budget


def steps(meta: dict) -> int:
    recipe = meta["recipe"]
    return recipe["epochs"] * math.ceil(meta["data"]["split_sizes"]["train"] / recipe["batch_size"])


def points(folders) -> list[dict]:
    """The finished default-recipe runs of EQUAL_STEPS steps (only epochs and warm-up may differ)."""
    found = []
    for folder in folders:
        for path in sorted(Path(folder).glob("segnet_*.json")):
            meta = json.loads(path.read_text())
            changed = set(differences(from_metadata(meta["recipe"]), RECIPES["default"])) - {"epochs", "warmup_epochs"}
            finished = meta["epochs_done"] == meta["recipe"]["epochs"]
            if changed or not finished or steps(meta) != EQUAL_STEPS or meta["model"] not in FLOOR:
                continue
            found.append({"model": meta["model"], "images": meta["data"]["split_sizes"]["train"],
                          "seed": meta["training"]["seed"], "steps": steps(meta), "folder": str(folder),
                          "val": meta["history"][-1]["val_pixel_accuracy"]})
    return found


def fit(rows) -> tuple[float, float]:
    """(accuracy at one image, gain per doubling) of the least-squares line in log2(images)."""
    slope, intercept = np.polyfit([math.log2(r["images"]) for r in rows], [r["val"] for r in rows], 1)
    return float(intercept), float(slope)


def val_to_test_drop(checkpoint_dir: Path, model: str) -> float:
    meta = json.loads((checkpoint_dir / f"{model}.json").read_text())
    return meta["history"][-1]["val_pixel_accuracy"] - meta["final"]["pixel_accuracy"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--shipped", type=Path, default=Path("checkpoints"), help="for the validation-to-test drop")
    args = parser.parse_args(argv)
    rows = points(args.folders)
    print("| model | training images | seed | optimizer steps | validation pixel accuracy | run |")
    print("|---|---:|---:|---:|---:|---|")
    for r in sorted(rows, key=lambda r: (r["model"], r["images"], r["seed"])):
        print(f"| {r['model']} | {r['images']} | {r['seed']} | {r['steps']} | {r['val']:.2%} | `{r['folder']}` |")
    print("\n| model | gain per doubling | line at 355 images | line at 3,680 (the seed's data) | drop to test | "
          "test floor | training images the line needs for it |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for model in FLOOR:
        mine = [r for r in rows if r["model"] == model]
        if len({r["images"] for r in mine}) < 2:
            print(f"| {model} | (needs runs at two sizes) | | | | | |")
            continue
        a, b = fit(mine)
        drop = val_to_test_drop(args.shipped, model)
        need = 2 ** ((FLOOR[model] + drop - a) / b) if b > 0 else math.inf
        print(f"| {model} | {b * 100:+.2f} points | {a + b * math.log2(OURS):.2%} | "
              f"{a + b * math.log2(FULL_TRAINVAL):.2%} (seed: {SEED_FULL_DATA[model]:.2%} test) | "
              f"{drop * 100:.2f} points | {FLOOR[model]:.0%} | {need:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
