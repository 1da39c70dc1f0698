"""Adam's step size relative to the weights it moves, per variant: the cause in docs/training.md.

    python scripts/update_ratio.py [--steps 10]
Trains each variant for a few steps on real training images (the seed's recipe, one field
changed per row) and prints the median over conv layers of |update| / |weight| per step. Adam's
step is about lr per weight whatever the gradient, so layers with small weights (large fan-in:
the regular net's 3x3x512 convs) turn fastest; BatchNorm after each conv makes only the
direction of the weights matter, so that ratio is the effective learning rate.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seg.data.pets import default_data_root  # noqa: E402
from seg.data.splits import PetTensors, load_cached_split, train_augment, validation_split  # noqa: E402
from seg.model.variants import PAIR  # noqa: E402
from seg.train.loop import build_model, make_optimizer  # noqa: E402
from seg.train.recipes import get_recipe  # noqa: E402

ROWS = [("seed", {}), ("lr 3e-4", {"lr": 3e-4}), ("kaiming init", {"init": "kaiming"}),
        ("lr 3e-4, rates by fan-in", {"lr": 3e-4, "lr_scaling": "fan_in"})]


def ratios(name, recipe, images, masks, steps):
    model = build_model(name, recipe, seed=0, device=torch.device("cpu"), channels_last=True)
    optimizer = make_optimizer(model, recipe)
    # Dense convs only (regular 3x3 or pointwise 1x1): they hold 99% of either net's weights.
    convs = [m.weight for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.groups == 1
             and m.weight.shape[0] > 3]
    loader = torch.utils.data.DataLoader(PetTensors(images, masks, train_augment(recipe.augment)),
                                         batch_size=recipe.batch_size, shuffle=True,
                                         generator=torch.Generator().manual_seed(0))
    per_step = []
    for step, (x, y) in zip(range(steps), loader):
        before = [w.detach().clone() for w in convs]
        loss = torch.nn.functional.cross_entropy(model(x.contiguous(memory_format=torch.channels_last)), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        per_step.append(statistics.median(((w - b).norm() / b.norm()).item() for w, b in zip(convs, before)))
    return statistics.median(per_step), statistics.median(w.detach().pow(2).mean().sqrt().item() for w in convs)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    images, masks, ids = load_cached_split(default_data_root(), "trainval", 128, ".cache")
    keep = validation_split(ids)[0]
    print("| recipe | model | median dense-conv weight RMS | median update / weight per step |\n|---|---|---:|---:|")
    for label, change in ROWS:
        recipe = get_recipe("seed", **change)
        for name in PAIR:
            ratio, rms = ratios(name, recipe, images[keep], masks[keep], args.steps)
            print(f"| {label} | {name} | {rms:.4f} | {ratio:.4f} |", flush=True)


if __name__ == "__main__":
    main()
