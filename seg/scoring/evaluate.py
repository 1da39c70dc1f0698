"""Evaluation shared by train.py and the command line.

    python -m seg.evaluate --checkpoint checkpoints/segnet_dsc.safetensors
    python -m seg.evaluate --compare checkpoints/segnet_regular.safetensors checkpoints/segnet_dsc.safetensors

Both report pixel accuracy and mIoU overall and by breed group (seg/scoring/groups.py: the three dominant
breeds, the other breeds, cats, dogs), each with a 95% bootstrap interval over the group's images.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import NamedTuple

import torch
from torch import nn
from torch.utils.data import DataLoader

from seg.data.pets import DataNotFoundError, default_data_root
from seg.data.splits import DEFAULT_CACHE, PetTensors, load_cached_split
from seg.machine import pick_device
from seg.model.checkpoint import CheckpointError, load_checkpoint
from seg.scoring.bootstrap import RESAMPLES, SEED, paired_bootstrap
from seg.scoring.groups import group_gaps, group_report
from seg.scoring.metrics import confusion_matrix, metrics_from_confusion


class Scores(NamedTuple):
    confmat: torch.Tensor  # summed over the images: rows true class, columns predicted
    loss: float  # mean cross-entropy per pixel
    kept: list  # predicted masks of the dataset indices asked for
    per_image: torch.Tensor  # (images, C, C): what the paired bootstrap resamples


@torch.inference_mode()
def evaluate(model, loader, device, num_classes=3, keep=None) -> Scores:
    model.eval()
    per_image, loss_sum, pixels, kept, seen = [], 0.0, 0, {}, 0
    keep = set(keep or ())
    for images, masks in loader:
        images, masks = images.to(device), masks.to(device)
        logits = model(images)
        loss_sum += nn.functional.cross_entropy(logits.float(), masks, reduction="sum").item()
        pixels += masks.numel()
        pred = logits.argmax(1)
        per_image += [confusion_matrix(m, p, num_classes).cpu() for m, p in zip(masks, pred)]
        for j in range(len(images)):
            if seen + j in keep:
                kept[seen + j] = pred[j].to(torch.uint8).cpu()
        seen += len(images)
    per_image = torch.stack(per_image) if per_image else torch.zeros(0, num_classes, num_classes, dtype=torch.long)
    return Scores(per_image.sum(0), loss_sum / max(pixels, 1), [kept[i] for i in sorted(kept)], per_image)


def get_args_parser():
    parser = argparse.ArgumentParser(prog="python -m seg.evaluate", description=__doc__)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--checkpoint", help="a .safetensors file with its .json")
    target.add_argument("--compare", nargs=2, metavar=("A", "B"),
                        help="two checkpoints on the same images: both metrics and A - B with a 95%% "
                             "paired bootstrap interval over images")
    parser.add_argument("--resamples", type=int, default=RESAMPLES,
                        help="bootstrap resamples (the breed groups' intervals, and the gap of --compare)")
    parser.add_argument("--data-root", default=None, help="folder holding oxford-iiit-pet/")
    parser.add_argument("--split", default="test", choices=("trainval", "test", "validation"),
                        help="validation: the trainval images the checkpoint's metadata names as its validation split")
    parser.add_argument("--size", type=int, default=None, help="default: the training size")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--limit", type=int, default=None, help="first N images only")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE)
    return parser


class Scored(NamedTuple):
    scores: Scores
    meta: dict
    ids: list  # the split's image names, in the order of scores.per_image
    size: int


def score_checkpoint(path, args) -> Scored:
    """One checkpoint on the split (all of it, or its first --limit images)."""
    model, meta = load_checkpoint(path)
    size = args.size or meta["input_size"]
    split = "trainval" if args.split == "validation" else args.split
    images, masks, ids = load_cached_split(args.data_root or default_data_root(), split, size,
                                           args.cache_dir, limit=args.limit)
    if args.split == "validation":  # the checkpoint's own carve-out, as its metadata names it
        wanted = set(meta.get("data", {}).get("validation", {}).get("image_ids", []))
        keep = [i for i, image_id in enumerate(ids) if image_id in wanted]
        if not keep:
            raise ValueError(f"{path}: its metadata names no validation images of this data root")
        images, masks, ids = images[keep], masks[keep], [ids[i] for i in keep]
    device = pick_device(args.device)
    loader = DataLoader(PetTensors(images, masks), batch_size=args.batch_size)
    return Scored(evaluate(model.to(device), loader, device, meta["num_classes"]), meta, ids, size)


def single_report(path, args) -> dict:
    scores, _, ids, size = score_checkpoint(path, args)
    return {"checkpoint": str(path), "split": args.split, "images": len(ids), "size": size, "loss": scores.loss,
            **metrics_from_confusion(scores.confmat), "confusion_matrix": scores.confmat.tolist(),
            "resamples": args.resamples, "bootstrap_seed": SEED,
            "groups": group_report(scores.per_image.numpy(), ids, args.resamples, SEED)}


def compare_report(path_a, path_b, args) -> dict:
    a, b = (score_checkpoint(p, args) for p in (path_a, path_b))
    per_a, per_b = a.scores.per_image.numpy(), b.scores.per_image.numpy()
    gap = paired_bootstrap(per_a, per_b, args.resamples, SEED)
    by_group = group_gaps(per_a, per_b, a.ids, args.resamples, SEED)
    return {"split": args.split, "images": len(a.ids), "resamples": args.resamples, "bootstrap_seed": SEED,
            "a": {"checkpoint": str(path_a), "model": a.meta["model"], **metrics_from_confusion(a.scores.confmat),
                  "groups": group_report(per_a, a.ids, args.resamples, SEED)},
            "b": {"checkpoint": str(path_b), "model": b.meta["model"], **metrics_from_confusion(b.scores.confmat),
                  "groups": group_report(per_b, b.ids, args.resamples, SEED)},
            "a_minus_b": difference_only(gap),
            "a_minus_b_by_group": {g: {"images": v.pop("images"), **difference_only(v)} for g, v in by_group.items()}}


def difference_only(gap: dict) -> dict:
    """{metric: {"difference", "ci95"}} of paired_bootstrap's answer (each side's figure is reported apart)."""
    return {k: {"difference": v["difference"], "ci95": v["ci95"]} for k, v in gap.items()}


def main(argv=None) -> int:
    args = get_args_parser().parse_args(argv)
    try:
        if args.resamples < 1:
            raise ValueError(f"--resamples must be at least 1; got {args.resamples}")
        report = compare_report(*args.compare, args) if args.compare else single_report(args.checkpoint, args)
    except (CheckpointError, DataNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
