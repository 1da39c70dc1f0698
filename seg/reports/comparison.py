"""Each shipped regular/DSC pair (the SegNets, the U-Nets) on the test split: each model's figures and
how it was trained, the paired regular − DSC gap overall and by breed group. results/comparison.json.

    python scripts/results_table.py    # measures and writes it (python -m seg.evaluate --compare: the JSON alone)
"""

from __future__ import annotations

import json
from pathlib import Path

from seg.files import RESULTS
from seg.model.checkpoint import paths
from seg.model.variants import PAIRS, VARIANTS
from seg.reports import store
from seg.scoring.evaluate import compare_report, get_args_parser

PATH = RESULTS / "comparison.json"
COMMAND = "python scripts/results_table.py"


def training_of(meta: dict) -> dict:
    t = meta["training"]
    return {"recipe": meta["recipe"]["name"], "epochs": meta["epochs_done"], "minutes": round(meta["wall_time_s"] / 60),
            "cpu": t["cpu"], "threads": t["threads"], "precision": t["autocast"] or "fp32"}


def measure(checkpoint_dir: Path) -> dict:
    """{"pairs": {architecture: report}} for every pair whose two checkpoints are in the folder."""
    eval_args = get_args_parser().parse_args(["--compare", "a", "b"])  # the CLI's defaults: test split
    shipped = {arch: pair for arch, pair in PAIRS.items()
               if all(paths(checkpoint_dir, n)["weights"].exists() for n in pair)}
    if not shipped:
        raise ValueError(f"no regular/DSC pair in {checkpoint_dir}; train one with `python train.py --test`")
    return {"pairs": {arch: measure_pair(checkpoint_dir, pair, eval_args) for arch, pair in shipped.items()},
            "command": COMMAND}


def measure_pair(checkpoint_dir: Path, pair, eval_args) -> dict:
    weights = [paths(checkpoint_dir, n)["weights"] for n in pair]
    report = compare_report(*weights, eval_args)
    for side, path in zip(("a", "b"), weights):
        report[side].pop("checkpoint")  # a path on the measuring machine
        meta = json.loads(paths(path.parent, report[side]["model"])["meta"].read_text())
        report[side]["training"] = training_of(meta)
    return report


def load(path=PATH) -> dict | None:
    return store.load(path)


def model_row(m: dict) -> str:
    t, article = m["training"], VARIANTS[m["model"]].article_pixel_accuracy
    return (f"| `{m['model']}` | **{m['pixel_accuracy']:.2%}** | {m['miou']:.2%} | "
            f"{' / '.join(f'{v:.1%}' for v in m['iou'].values())} | "
            f"{'–' if article is None else f'{article:.2%}'} | {t['recipe']}, {t['epochs']} epochs, "
            f"{t['minutes']} min, {t['cpu']}, {t['threads']} thread(s), {t['precision']} |")


def gap_cell(g: dict | None) -> str:
    return "–" if g is None else f"**{g['difference'] * 100:+.2f}** [{g['ci95'][0] * 100:+.2f}, {g['ci95'][1] * 100:+.2f}]"


def markdown(result: dict) -> str:
    pairs = result["pairs"]
    lines = ["| model | test pixel accuracy | test mIoU | IoU pet / background / border | the article's | training |",
             "|---|---:|---:|---|---:|---|"]
    lines += [model_row(report[side]) for report in pairs.values() for side in ("a", "b")]
    first = next(iter(pairs.values()))
    gaps = {"pixel accuracy": lambda r: r["a_minus_b"]["pixel_accuracy"], "mIoU": lambda r: r["a_minus_b"]["miou"]}
    for group, g in first["a_minus_b_by_group"].items():
        if group != "all":
            gaps[f"pixel accuracy, {group} ({g['images']})"] = (
                lambda r, group=group: r["a_minus_b_by_group"].get(group, {}).get("pixel_accuracy"))
    lines += ["", "| regular − DSC, points [95% CI] | " + " | ".join(pairs) + " |", "|---|" + "---:|" * len(pairs)]
    lines += [f"| {label} | " + " | ".join(gap_cell(get(r)) for r in pairs.values()) + " |" for label, get in gaps.items()]
    lines.append(f"\nAll {first['images']} {first['split']} images; gaps: 95% paired bootstrap over images, "
                 f"{first['resamples']:,} resamples, seed {first['bootstrap_seed']}"
                 + ("; the article's U-Net figure is its own U-Net's, on the full dataset (3,680 trainval images, "
                    "100 epochs)" if "U-Net" in pairs else "") + f"; `{result['command']}`.")
    return "\n".join(lines)
