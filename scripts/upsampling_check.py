"""Masks at the photo's resolution, two ways, against the real trimaps at full resolution:
the 128x128 labels upsampled nearest (what the app drew before) and the logits upsampled
bilinearly, then the argmax (what it draws now). Every test image, every shipped checkpoint.

    python scripts/upsampling_check.py                 # checkpoints/, the default data root's test split
    python scripts/upsampling_check.py --limit 20      # a quick look
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seg.data.pets import (  # noqa: E402
    default_data_root,
    read_trimap,
    to_input,  # noqa: E402
)
from seg.data.splits import open_split  # noqa: E402
from seg.machine import cpu_name  # noqa: E402
from seg.model.checkpoint import CHECKPOINT_DIR, load_checkpoint, paths  # noqa: E402
from seg.model.variants import VARIANTS  # noqa: E402
from seg.scoring.bootstrap import paired_bootstrap  # noqa: E402
from seg.scoring.metrics import confusion_matrix  # noqa: E402
from seg.serve.models import predict_logits  # noqa: E402
from seg.serve.overlay import upsample_logits, upsample_mask  # noqa: E402
from seg.serve.photos import load_photo  # noqa: E402


def score(models: dict, dataset, limit) -> dict:
    """{model: {"nearest": per-image confusions, "bilinear": ...}} over the split's images."""
    out = {name: {"nearest": [], "bilinear": []} for name in models}
    count = len(dataset) if limit is None else min(limit, len(dataset))
    for index in range(count):
        photo, target = load_photo(dataset._images[index]), read_trimap(dataset._segs[index]) - 1
        for name, (model, size) in models.items():
            logits = predict_logits(model, to_input(photo, size))[0].float().numpy()
            ways = {"nearest": upsample_mask(logits.argmax(0), photo.size), "bilinear": upsample_logits(logits, photo.size)}
            for way, mask in ways.items():
                out[name][way].append(confusion_matrix(target, torch.from_numpy(mask), 3).numpy())
    return {n: {w: np.stack(v) for w, v in ways.items()} for n, ways in out.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint-dir", type=Path, default=CHECKPOINT_DIR)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--models", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    models = {}
    for name in args.models:
        weights = paths(args.checkpoint_dir, name)["weights"]
        if weights.exists():
            model, meta = load_checkpoint(weights)
            models[name] = (model, meta["input_size"])
    dataset = open_split(args.data_root or default_data_root(), "test")
    scores = score(models, dataset, args.limit)
    print("| model | nearest labels: pixel acc. / mIoU | bilinear logits: pixel acc. / mIoU | "
          "bilinear − nearest, pixel acc. [95% CI] | mIoU [95% CI] |")
    print("|---|---:|---:|---:|---:|")
    for name, ways in scores.items():
        gap = paired_bootstrap(ways["bilinear"], ways["nearest"])
        pa, miou = gap["pixel_accuracy"], gap["miou"]
        print(f"| `{name}` | {pa['b']:.2%} / {miou['b']:.2%} | {pa['a']:.2%} / {miou['a']:.2%} | "
              f"{pa['difference'] * 100:+.2f} [{pa['ci95'][0] * 100:+.2f}, {pa['ci95'][1] * 100:+.2f}] | "
              f"{miou['difference'] * 100:+.2f} [{miou['ci95'][0] * 100:+.2f}, {miou['ci95'][1] * 100:+.2f}] |")
    images = len(next(iter(scores.values()))["nearest"])
    print(f"\n{images} test images at their own resolution against their trimaps; 95% paired bootstrap over "
          f"images, 10,000 resamples; {cpu_name()}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
