"""The README's results table: both variants of each run folder on all test images, with the gap.

    python scripts/results_table.py checkpoints runs/seed
For each folder (one training run of both variants): test pixel accuracy, mIoU and per-class IoU
of each model, then regular - DSC with its 95% paired bootstrap interval over test images, overall
and by breed group (seg/groups.py)
(`python -m seg.evaluate --compare` for the same numbers as JSON), training time and machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seg.model.variants import PAIR, article_figures  # noqa: E402
from seg.scoring.evaluate import compare_report, get_args_parser  # noqa: E402


def folder_rows(folder: Path, eval_args) -> list[str]:
    paths = [folder / f"{n}.safetensors" for n in PAIR]
    report = compare_report(*paths, eval_args)
    rows = []
    for side, path in zip(("a", "b"), paths):
        m, meta = report[side], json.loads(path.with_suffix(".json").read_text())
        iou = " / ".join(f"{v:.1%}" for v in m["iou"].values())
        t = meta["training"]
        time = f"{meta['wall_time_s'] / 60:.0f} min, {t['cpu']}, {t['threads']} thread(s), {t['autocast'] or 'fp32'}"
        rows.append(f"| {meta['recipe']['name']} ({meta['epochs_done']} epochs) | `{meta['model']}` | "
                    f"**{m['pixel_accuracy']:.2%}** | {m['miou']:.2%} | {iou} | {article_figures()[meta['model']]:.2%} | {time} |")
    for key, label, seed in (("pixel_accuracy", "pixel accuracy", "+1.32"), ("miou", "mIoU", "")):
        rows.append(gap_row(meta["recipe"]["name"], f"regular − DSC, {label}", report["a_minus_b"][key], seed))
    for group, gaps in report["a_minus_b_by_group"].items():
        if group != "all":
            rows.append(gap_row(meta["recipe"]["name"], f"regular − DSC, pixel accuracy, {group} ({gaps['images']})",
                                gaps["pixel_accuracy"], ""))
    return rows


def gap_row(recipe: str, label: str, gap: dict, seed: str) -> str:
    low, high = gap["ci95"]
    return (f"| {recipe} | {label} | **{gap['difference'] * 100:+.2f}** points "
            f"[{low * 100:+.2f}, {high * 100:+.2f}] | | | {seed} | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path)
    args = parser.parse_args()
    eval_args = get_args_parser().parse_args(["--compare", "a", "b"])  # the CLI's defaults: test split, 10,000 resamples
    print("| recipe | model | test pixel accuracy | test mIoU | IoU pet / background / border | seed's pixel accuracy | training |")
    print("|---|---|---:|---:|---|---:|---|")
    for folder in args.folders:
        print("\n".join(folder_rows(folder, eval_args)))
    print(f"\nAll {eval_args.split} images of the data root; gaps: 95% paired bootstrap, "
          f"{eval_args.resamples:,} resamples, seed 0.")


if __name__ == "__main__":
    main()
