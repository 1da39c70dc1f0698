"""Validation pixel accuracy against the number of training images, and what the project's floor needs.

    python -m seg.learning_curve checkpoints runs/curve/*   # -> results/learning_curve.json, and the tables
    python -m seg.learning_curve --markdown                 # the tables, from that file

Each finished run of the default recipe with the same optimizer steps as the shipped ones
(`train.py --train-images N` with the epochs scaled to N) is one point. Per model, a
least-squares line through validation pixel accuracy against log2(training images) gives the
gain per doubling and, with the shipped checkpoints' own validation-to-test drop, the training
images at which the line reaches the floor; a second reading takes the line from the shipped
test figure to the article's full-data one. Each point is one run scored on the 76 validation
images of the official split (docs/training.md gives the seed spread), so both are rough guides,
not bounds. Reads metadata only: no model runs, and the only test figures used are those the
shipped checkpoints already record. The app's Training tab plots the file.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from seg.files import RESULTS
from seg.model.variants import PAIR, article_figures
from seg.reports import store
from seg.train.recipes import ARTICLE_TRAIN_IMAGES, RECIPES, differences, from_metadata

PATH = RESULTS / "learning_curve.json"
COMMAND = "python -m seg.learning_curve RUN_FOLDERS"
FLOOR = dict(zip(PAIR, (0.85, 0.84)))  # the project's goal: test pixel accuracy of the shipped pair
IMAGES_HERE = 641  # all we can train on: 305 real training images (official split) and 336 polygon photos
EQUAL_STEPS = 2000  # every point's budget of optimizer steps of batch 8 (the shipped runs': 25 epochs of 81)
STEPS_TOLERANCE = 0.02  # epochs are whole: 25 x 81 = 2,025 and 52 x 39 = 2,028 steps are both "2,000"


def optimizer_steps(meta: dict) -> int:
    recipe = meta["recipe"]
    return recipe["epochs"] * math.ceil(meta["data"]["split_sizes"]["train"] / recipe["batch_size"])


def equal_steps(meta: dict) -> bool:
    return abs(optimizer_steps(meta) - EQUAL_STEPS) <= STEPS_TOLERANCE * EQUAL_STEPS


def read_points(folders) -> list[dict]:
    """The finished default-recipe runs of about EQUAL_STEPS steps (only epochs and warm-up may differ),
    once each: a run found in two folders (a copy) counts once."""
    points, seen = [], set()
    for folder in folders:
        for path in sorted(Path(folder).glob("segnet_*.json")):
            meta = json.loads(path.read_text())
            changed = set(differences(from_metadata(meta["recipe"]), RECIPES["default"])) - {"epochs", "warmup_epochs"}
            finished = meta["epochs_done"] == meta["recipe"]["epochs"]
            whole_split = meta["training"].get("limit") is None  # --limit also shrinks the validation split
            if changed or not finished or not whole_split or not equal_steps(meta) or meta["model"] not in FLOOR:
                continue
            sizes = meta["data"]["split_sizes"]
            point = {"model": meta["model"], "images": sizes["train"], "validation_images": sizes["validation"],
                     "seed": meta["training"]["seed"], "val_pixel_accuracy": meta["history"][-1]["val_pixel_accuracy"]}
            if tuple(point.values()) not in seen:
                seen.add(tuple(point.values()))
                points.append({**point, "run": str(folder)})
    return sorted(points, key=lambda p: (list(FLOOR).index(p["model"]), p["images"], p["seed"]))


def fit_line(points) -> tuple[float, float]:
    """(intercept, gain per doubling): least squares of accuracy on log2(images)."""
    xs, ys = [math.log2(p["images"]) for p in points], [p["val_pixel_accuracy"] for p in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return my - slope * mx, slope


def summarise(points, shipped: dict) -> dict:
    """Per model with points at two sizes or more and a shipped checkpoint scored on test: its line,
    what the line says, and a second reading that needs no line of ours: the straight line in
    log2(images) from the shipped checkpoint's test figure to the article's full-data one (another
    recipe and schedule, so a rough guide)."""
    fits = {}
    for model, floor in FLOOR.items():
        mine = [p for p in points if p["model"] == model]
        if len({p["images"] for p in mine}) < 2 or model not in shipped:
            continue
        a, b = fit_line(mine)
        ours = shipped[model]
        drop = ours["val"] - ours["test"]
        target = floor + drop  # the validation accuracy that drops to the floor on test
        to_article = (article_figures()[model] - ours["test"]) / math.log2(ARTICLE_TRAIN_IMAGES / ours["images"])
        fits[model] = {"intercept": a, "gain_per_doubling": b, "at_trainval_here": a + b * math.log2(IMAGES_HERE),
                       "at_full_trainval": a + b * math.log2(ARTICLE_TRAIN_IMAGES), "val_to_test_drop": drop,
                       "test_floor": floor, "images_for_floor": 2 ** ((target - a) / b) if b > 0 else None,
                       "test_gain_per_doubling_to_article": to_article,
                       "images_for_floor_via_article": ours["images"] * 2 ** ((floor - ours["test"]) / to_article)}
    return fits


def shipped_results(checkpoint_dir: Path) -> dict:
    """{model: validation and test pixel accuracy, training images} of each shipped checkpoint
    that has both figures."""
    results = {}
    for model in FLOOR:
        try:
            meta = json.loads((Path(checkpoint_dir) / f"{model}.json").read_text())
            results[model] = {"val": meta["history"][-1]["val_pixel_accuracy"], "test": meta["final"]["pixel_accuracy"],
                              "images": meta["data"]["split_sizes"]["train"]}
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return results


def load(path=PATH) -> dict | None:
    return store.load(path)


def markdown(curve: dict) -> str:
    lines = ["| model | training images | seed | validation pixel accuracy | run |", "|---|---:|---:|---:|---|"]
    lines += [f"| `{p['model']}` | {p['images']} | {p['seed']} | {p['val_pixel_accuracy']:.2%} | `{p['run']}` |"
              for p in curve["points"]]
    lines += ["", f"| model | gain per doubling | line at {IMAGES_HERE} images | line at 3,680 (the article's) | "
              "validation − test | test floor | training images the line needs for it | "
              "the same, on the line from the shipped test figure to the article's |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for model, f in curve["fits"].items():
        need = f"{f['images_for_floor']:,.0f}" if f["images_for_floor"] else "never (the line does not rise)"
        lines.append(f"| `{model}` | {f['gain_per_doubling'] * 100:+.2f} points | {f['at_trainval_here']:.2%} | "
                     f"{f['at_full_trainval']:.2%} (article: {article_figures()[model]:.2%} test) | "
                     f"{f['val_to_test_drop'] * 100:.2f} points | {f['test_floor']:.0%} | {need} | "
                     f"{f['images_for_floor_via_article']:,.0f} ({f['test_gain_per_doubling_to_article'] * 100:+.2f} "
                     "points per doubling) |")
    lines.append(f"\nEvery point: the default recipe, about {curve['steps']:,} optimizer steps of batch 8, the same "
                 f"{' or '.join(map(str, curve['validation_images']))} validation images; written by `{curve['command']}`.")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seg.learning_curve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", type=Path, help="run folders holding segnet_*.json")
    parser.add_argument("--shipped", type=Path, default=Path("checkpoints"), help="for the validation-to-test drop")
    parser.add_argument("--out", type=Path, default=PATH)
    parser.add_argument("--markdown", action="store_true", help="print the tables of --out and stop")
    args = parser.parse_args(argv)
    if args.markdown or not args.folders:
        curve = load(args.out)
        if curve is None:
            print(f"error: no learning-curve file at {args.out}; run `python -m seg.learning_curve FOLDER...` "
                  "first", file=sys.stderr)
            return 2
        print(markdown(curve))
        return 0

    points = read_points(args.folders)
    fits = summarise(points, shipped_results(args.shipped))
    if not fits:
        print("error: no model has finished default-recipe runs at two training-set sizes in "
              f"{', '.join(map(str, args.folders))}", file=sys.stderr)
        return 2
    curve = {"points": points, "fits": fits, "steps": EQUAL_STEPS,
             "validation_images": sorted({p["validation_images"] for p in points}),
             "command": "python -m seg.learning_curve " + " ".join(map(str, args.folders))}
    store.save(args.out, curve)
    print(markdown(curve))
    return 0


if __name__ == "__main__":
    sys.exit(main())
