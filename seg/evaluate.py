"""Evaluation shared by train.py and `python -m seg.evaluate --checkpoint PATH`."""

from __future__ import annotations

import argparse
import json
import sys

import torch
from torch import nn
from torch.utils.data import DataLoader

from .checkpoint import CheckpointError, load_checkpoint
from .data import DataNotFoundError, PetTensors, default_data_root, load_cached_split
from .metrics import confusion_matrix, metrics_from_confusion

DEFAULT_CACHE = ".cache"


def pick_device(name: str = "auto") -> torch.device:
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@torch.inference_mode()
def evaluate(model, loader, device, num_classes=3, keep=None):
    """(confusion matrix, mean loss, predicted masks of the dataset indices in `keep`)."""
    model.eval()
    confmat = torch.zeros(num_classes, num_classes, dtype=torch.long)
    loss_sum, pixels, kept, seen = 0.0, 0, {}, 0
    keep = set(keep or ())
    for images, masks in loader:
        images, masks = images.to(device), masks.to(device)
        logits = model(images)
        loss_sum += nn.functional.cross_entropy(logits.float(), masks, reduction="sum").item()
        pixels += masks.numel()
        pred = logits.argmax(1)
        confmat += confusion_matrix(masks, pred, num_classes).cpu()
        for j in range(len(images)):
            if seen + j in keep:
                kept[seen + j] = pred[j].to(torch.uint8).cpu()
        seen += len(images)
    return confmat, loss_sum / max(pixels, 1), [kept[i] for i in sorted(kept)]


def get_args_parser():
    parser = argparse.ArgumentParser(prog="python -m seg.evaluate", description=__doc__)
    parser.add_argument("--checkpoint", required=True, help="a .safetensors file with its .json")
    parser.add_argument("--data-root", default=None, help="folder holding oxford-iiit-pet/")
    parser.add_argument("--split", default="test", choices=("trainval", "test"))
    parser.add_argument("--size", type=int, default=None, help="default: the training size")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--limit", type=int, default=None, help="first N images only")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE)
    return parser


def main(argv=None) -> int:
    args = get_args_parser().parse_args(argv)
    try:
        model, meta = load_checkpoint(args.checkpoint)
        size = args.size or meta["input_size"]
        root = args.data_root or default_data_root()
        images, masks, _ = load_cached_split(root, args.split, size, args.cache_dir, limit=args.limit)
    except (CheckpointError, DataNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    device = pick_device(args.device)
    loader = DataLoader(PetTensors(images, masks), batch_size=args.batch_size)
    confmat, loss, _ = evaluate(model.to(device), loader, device, meta["num_classes"])
    result = {"checkpoint": str(args.checkpoint), "split": args.split, "images": len(images),
              "size": size, "loss": loss, **metrics_from_confusion(confmat),
              "confusion_matrix": confmat.tolist()}
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
