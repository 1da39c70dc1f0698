"""The shipped pair, regular against DSC, on the test split: each one's figures and how it was
trained, the paired gap overall and by breed group. results/comparison.json.

    python scripts/results_table.py    # measures and writes it (python -m seg.evaluate --compare: the JSON alone)
"""

from __future__ import annotations

import json
from pathlib import Path

from seg.files import RESULTS
from seg.model.checkpoint import paths
from seg.model.variants import PAIR, VARIANTS
from seg.reports import store
from seg.scoring.evaluate import compare_report, get_args_parser

PATH = RESULTS / "comparison.json"
COMMAND = "python scripts/results_table.py"


def training_of(meta: dict) -> dict:
    t = meta["training"]
    return {"recipe": meta["recipe"]["name"], "epochs": meta["epochs_done"], "minutes": round(meta["wall_time_s"] / 60),
            "cpu": t["cpu"], "threads": t["threads"], "precision": t["autocast"] or "fp32"}


def measure(checkpoint_dir: Path) -> dict:
    eval_args = get_args_parser().parse_args(["--compare", "a", "b"])  # the CLI's defaults: test split
    weights = [paths(checkpoint_dir, n)["weights"] for n in PAIR]
    report = compare_report(*weights, eval_args)
    for side, path in zip(("a", "b"), weights):
        report[side].pop("checkpoint")  # a path on the measuring machine
        report[side]["training"] = training_of(json.loads(paths(path.parent, report[side]["model"])["meta"].read_text()))
    return {**report, "command": COMMAND}


def load(path=PATH) -> dict | None:
    return store.load(path)


def markdown(result: dict) -> str:
    lines = ["| model | test pixel accuracy | test mIoU | IoU pet / background / border | the article's | training |",
             "|---|---:|---:|---|---:|---|"]
    for side in ("a", "b"):
        m, t = result[side], result[side]["training"]
        article = VARIANTS[m["model"]].article_pixel_accuracy
        lines.append(f"| `{m['model']}` | **{m['pixel_accuracy']:.2%}** | {m['miou']:.2%} | "
                     f"{' / '.join(f'{v:.1%}' for v in m['iou'].values())} | "
                     f"{'–' if article is None else f'{article:.2%}'} | {t['recipe']}, {t['epochs']} epochs, "
                     f"{t['minutes']} min, {t['cpu']}, {t['threads']} thread(s), {t['precision']} |")
    names = f"{result['a']['model']} − {result['b']['model']}"
    gaps = [("pixel accuracy", result["a_minus_b"]["pixel_accuracy"]), ("mIoU", result["a_minus_b"]["miou"])]
    gaps += [(f"pixel accuracy, {group} ({g['images']})", g["pixel_accuracy"])
             for group, g in result["a_minus_b_by_group"].items() if group != "all"]
    lines += ["", f"| {names} | points [95% CI] |", "|---|---:|"]
    lines += [f"| {label} | **{g['difference'] * 100:+.2f}** [{g['ci95'][0] * 100:+.2f}, {g['ci95'][1] * 100:+.2f}] |"
              for label, g in gaps]
    lines.append(f"\nAll {result['images']} {result['split']} images; gaps: 95% paired bootstrap over images, "
                 f"{result['resamples']:,} resamples, seed {result['bootstrap_seed']}; `{result['command']}`.")
    return "\n".join(lines)
