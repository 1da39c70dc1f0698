"""Masks at the photo's resolution, two ways, against the real trimaps at full resolution: the
model's labels upsampled nearest, and its logits upsampled bilinearly then the argmax (what the
app draws). Every test image, every shipped checkpoint: results/upsampling.json.

    python scripts/upsampling_check.py    # measures and writes it
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from seg.data.decode import read_trimap, to_input
from seg.files import RESULTS
from seg.machine import cpu_name
from seg.model.checkpoint import load_checkpoint, paths
from seg.reports import store
from seg.scoring.bootstrap import RESAMPLES, SEED, paired_bootstrap
from seg.scoring.metrics import confusion_matrix
from seg.serve.inference import predict_logits
from seg.serve.overlay import upsample_logits, upsample_mask
from seg.serve.photos import load_photo

PATH = RESULTS / "upsampling.json"
COMMAND = "python scripts/upsampling_check.py"


def confusions(models: dict, dataset, limit=None) -> dict:
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


@torch.no_grad()
def measure(checkpoint_dir: Path, names, dataset, limit=None) -> dict:
    models = {}
    for name in names:
        weights = paths(checkpoint_dir, name)["weights"]
        if weights.exists():
            model, meta = load_checkpoint(weights)
            models[name] = (model, meta["input_size"])
    rows = {}
    for name, ways in confusions(models, dataset, limit).items():
        gap = paired_bootstrap(ways["bilinear"], ways["nearest"])  # a: bilinear, b: nearest
        rows[name] = {"images": len(ways["nearest"]), "pixel_accuracy": gap["pixel_accuracy"], "miou": gap["miou"]}
    return {"rows": rows, "resamples": RESAMPLES, "bootstrap_seed": SEED, "cpu": cpu_name(),
            "date": time.strftime("%Y-%m-%d"), "command": COMMAND}


def load(path=PATH) -> dict | None:
    return store.load(path)


def markdown(result: dict) -> str:
    lines = ["| model | nearest labels: pixel acc. / mIoU | bilinear logits: pixel acc. / mIoU | "
             "bilinear − nearest, pixel acc. [95% CI] | mIoU [95% CI] |", "|---|---:|---:|---:|---:|"]
    for name, row in result["rows"].items():
        pa, miou = row["pixel_accuracy"], row["miou"]
        lines.append(f"| `{name}` | {pa['b']:.2%} / {miou['b']:.2%} | {pa['a']:.2%} / {miou['a']:.2%} | "
                     f"{pa['difference'] * 100:+.2f} [{pa['ci95'][0] * 100:+.2f}, {pa['ci95'][1] * 100:+.2f}] | "
                     f"{miou['difference'] * 100:+.2f} [{miou['ci95'][0] * 100:+.2f}, {miou['ci95'][1] * 100:+.2f}] |")
    images = next(iter(result["rows"].values()))["images"]
    lines.append(f"\n{images} test images at their own resolution against their trimaps; 95% paired bootstrap over "
                 f"images, {result['resamples']:,} resamples; {result['cpu']}; `{result['command']}`.")
    return "\n".join(lines)
