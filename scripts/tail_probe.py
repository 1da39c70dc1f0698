"""Probe: does a short tail of light augmentation lift a finished checkpoint on validation?

Continues a checkpoint for a few epochs (fresh AdamW, cosine from --lr to 0) with one
augmentation and prints validation pixel accuracy per epoch. A probe for choosing a recipe on
the validation split; it never reads the test split.

    python scripts/tail_probe.py checkpoints/segnet_dsc.safetensors --augment seed --epochs 10
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seg.data.pets import default_data_root  # noqa: E402
from seg.data.splits import PetTensors, load_cached_split, train_augment, validation_split  # noqa: E402
from seg.machine import pick_device  # noqa: E402
from seg.model.checkpoint import load_checkpoint  # noqa: E402
from seg.train.distributed import Context  # noqa: E402
from seg.train.recipes import from_metadata  # noqa: E402
from seg.train.run import Run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights")
    parser.add_argument("--augment", default="seed")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", default=".cache")
    args = parser.parse_args()
    model, meta = load_checkpoint(args.weights)
    base = from_metadata(meta["recipe"])
    recipe = dataclasses.replace(base, lr=args.lr, warmup_epochs=0, scheduler="cosine", epochs=args.epochs,
                                 augment=args.augment)
    run = Run(model, recipe, Context(device=pick_device("auto")), seed=args.seed + 100)
    images, masks, ids = load_cached_split(default_data_root(), "trainval", recipe.size, args.cache_dir)
    train_idx, val_idx = validation_split(ids)
    train_set = PetTensors(images[train_idx], masks[train_idx], train_augment(recipe.augment, recipe.size))
    val, _ = run.validate(images[val_idx], masks[val_idx])
    print(f"{meta['model']} start: val_pixel_acc {val['pixel_accuracy']:.4f}", flush=True)
    for epoch in range(1, recipe.epochs + 1):
        stats = run.train_epoch(train_set, epoch)
        val, _ = run.validate(images[val_idx], masks[val_idx])
        print(f"{meta['model']} tail {args.augment} epoch {epoch}: loss {stats['train_loss']:.4f} "
              f"val_loss {val['loss']:.4f} val_pixel_acc {val['pixel_accuracy']:.4f}", flush=True)

if __name__ == "__main__":
    main()
