"""Every shipped variant as one point of the trade-off: test pixel accuracy (with its 95% bootstrap
interval over test images) against parameters, mult-adds, batch-1 milliseconds and file size.

    python -m seg.frontier                  # score and time the shipped checkpoints -> results/frontier.json
    python -m seg.frontier --markdown       # the README's table, from that file

The app's Results tab plots the file (on Spaces there is no test set to score), and can time
the loaded models again on the machine that serves it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seg.files import RESULTS
from seg.model.cost import human
from seg.model.variants import PAIR, VARIANTS
from seg.reports import store
from seg.scoring.groups import groups_markdown

PATH = RESULTS / "frontier.json"
COMMAND = "python -m seg.frontier"
# x-axis choices: key in a point, label, logarithmic axis
AXES = {
    "params": ("parameters", True),
    "mult_adds": ("mult-adds at 128×128", True),
    "ms": ("batch-1 ms (fast path)", False),
    "megabytes": ("checkpoint MB (fp32 safetensors)", True),
}


def score_variant(weights: Path, eval_args, resamples: int) -> dict:
    """Test metrics of one checkpoint, with the bootstrap interval of its pixel accuracy and mIoU."""
    from seg.model.cost import model_cost
    from seg.scoring.bootstrap import SEED, bootstrap_interval
    from seg.scoring.evaluate import score_checkpoint
    from seg.scoring.groups import group_report
    from seg.scoring.metrics import metrics_from_confusion

    scores, meta, ids, size = score_checkpoint(weights, eval_args)
    count = len(ids)
    metrics = metrics_from_confusion(scores.confmat)
    interval = bootstrap_interval(scores.per_image.numpy(), resamples, SEED)
    totals = model_cost(meta["model"], size)["totals"]
    return {"model": meta["model"], "pixel_accuracy": metrics["pixel_accuracy"],
            "pixel_accuracy_ci95": interval["pixel_accuracy"], "miou": metrics["miou"],
            "miou_ci95": interval["miou"], "iou": metrics["iou"], "images": count, "size": size,
            "params": totals["params"], "mult_adds": totals["mult_adds"],
            "megabytes": weights.stat().st_size / 1e6, "recipe": meta["recipe"]["name"],
            "epochs": meta["epochs_done"], "groups": group_report(scores.per_image.numpy(), ids, resamples, SEED)}


def time_variants(loaded: dict, reps: int = 30) -> dict:
    """{name: median batch-1 ms} through the app's fast path, interleaved so drift hits all alike.
    Call it on the thread that owns the models (the app's inference thread)."""
    import torch

    from seg.serve.inference import predict_logits
    from seg.serve.timing import interleaved, median_min_max

    fns = {}
    for name, entry in loaded.items():
        size = entry.meta["input_size"]
        x = torch.rand(1, 3, size, size, device=entry.device)
        fns[name] = lambda model=entry.model, x=x: predict_logits(model, x)
    return {name: round(median_min_max(t, 1000)["median"], 2) for name, t in interleaved(fns, reps).items()}


def measure(checkpoint_dir: Path, resamples: int, reps: int) -> dict:
    import torch

    from seg.machine import cpu_name
    from seg.model.checkpoint import paths
    from seg.scoring.bootstrap import SEED
    from seg.scoring.evaluate import get_args_parser
    from seg.serve.inference import load_variant

    eval_args = get_args_parser().parse_args(["--compare", "a", "b"])  # the CLI's defaults: test split
    shipped = [n for n in VARIANTS if paths(checkpoint_dir, n)["weights"].exists()]
    if not shipped:
        raise ValueError(f"no checkpoints in {checkpoint_dir}; train some with `python train.py --test`")
    points = [score_variant(paths(checkpoint_dir, n)["weights"], eval_args, resamples) for n in shipped]
    ms = time_variants({n: load_variant(paths(checkpoint_dir, n)["weights"]) for n in shipped}, reps)
    for point in points:
        point["ms"] = ms[point["model"]]
    return {"points": points, "split": eval_args.split, "resamples": resamples, "bootstrap_seed": SEED,
            "timing": {"cpu": cpu_name(), "threads": torch.get_num_threads(), "reps": reps, "batch": 1},
            "command": "python -m seg.frontier"}


def load(path=PATH) -> dict | None:
    return store.load(path)


def markdown(frontier: dict) -> str:
    """One row per variant: what the figure plots, with the interval and each cost beside regular's."""
    points = frontier["points"]
    base = next((p for p in points if p["model"] == PAIR[0]), points[0])
    lines = ["| variant | test pixel acc. [95% CI] | mIoU | parameters | mult-adds | batch-1 ms | file MB |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for p in points:
        low, high = p["pixel_accuracy_ci95"]
        share = {k: f"{p[k] / base[k]:.0%}" for k in ("params", "mult_adds", "ms", "megabytes")}
        lines.append(f"| `{p['model']}` | {p['pixel_accuracy']:.2%} [{low:.2%}, {high:.2%}] | {p['miou']:.2%} | "
                     f"{human(p['params'])} ({share['params']}) | {human(p['mult_adds'])} ({share['mult_adds']}) | "
                     f"{p['ms']:.1f} ({share['ms']}) | {p['megabytes']:.1f} ({share['megabytes']}) |")
    t = frontier["timing"]
    lines.append(f"\nAll {points[0]['images']} {frontier['split']} images; intervals: {frontier['resamples']:,} "
                 f"bootstrap resamples over images (seed {frontier['bootstrap_seed']}); ms: median of {t['reps']} "
                 f"batch-1 runs at {points[0]['size']}×{points[0]['size']} on {t['cpu']}, {t['threads']} threads; "
                 f"percentages: of the regular SegNet's; `{frontier.get('command', COMMAND)}`.")
    if all("groups" in p for p in points):  # files written before the breed groups have none
        lines += ["", "Test pixel accuracy by breed group (images in brackets), 95% bootstrap interval over the "
                  "group's images:", "", groups_markdown({p["model"]: p["groups"] for p in points})]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seg.frontier", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint-dir", type=Path, default=None, help="default: checkpoints/")
    parser.add_argument("--out", type=Path, default=PATH)
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=30, help="timed batch-1 runs per variant")
    parser.add_argument("--markdown", action="store_true", help="print the table of --out and stop")
    args = parser.parse_args(argv)
    if args.markdown:
        frontier = load(args.out)
        if frontier is None:
            print(f"error: no frontier file at {args.out}; run `python -m seg.frontier` first", file=sys.stderr)
            return 2
        print(markdown(frontier))
        return 0
    from seg.data.pets import DataNotFoundError
    from seg.model.checkpoint import CHECKPOINT_DIR, CheckpointError

    try:
        frontier = measure(args.checkpoint_dir or CHECKPOINT_DIR, args.resamples, args.reps)
    except (CheckpointError, DataNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    store.save(args.out, frontier)
    print(markdown(frontier))
    return 0


if __name__ == "__main__":
    sys.exit(main())
