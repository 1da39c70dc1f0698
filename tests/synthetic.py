"""A tiny Oxford-IIIT-Pet-shaped dataset, drawn on the fly: an ellipse 'pet' with a border."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def draw_pair(rng, width, height):
    cx, cy = rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height
    rx, ry = rng.uniform(0.15, 0.3) * width, rng.uniform(0.15, 0.3) * height
    box = [cx - rx, cy - ry, cx + rx, cy + ry]
    background = tuple(int(v) for v in rng.integers(0, 120, 3))
    image = Image.new("RGB", (width, height), background)
    ImageDraw.Draw(image).ellipse(box, fill=tuple(int(v) for v in rng.integers(140, 255, 3)))
    trimap = Image.new("L", (width, height), 2)  # background
    draw = ImageDraw.Draw(trimap)
    draw.ellipse(box, fill=3, outline=None)  # border ring, then pet inside it
    draw.ellipse([box[0] + 3, box[1] + 3, box[2] - 3, box[3] - 3], fill=1)
    noise = rng.integers(-20, 20, (height, width, 3))
    image = Image.fromarray(np.clip(np.asarray(image, dtype=int) + noise, 0, 255).astype(np.uint8))
    return image, trimap


def make_oxford_layout(root: Path, trainval: int = 12, test: int = 8, seed: int = 0, prefix: str = "Synthetic") -> Path:
    """root/oxford-iiit-pet/{images,annotations/trimaps,annotations/*.txt}; returns root. Images are
    named `{prefix}_{split}_{i}`, so `prefix`_`split` is their breed."""
    rng = np.random.default_rng(seed)
    base = Path(root) / "oxford-iiit-pet"
    (base / "images").mkdir(parents=True, exist_ok=True)
    (base / "annotations" / "trimaps").mkdir(parents=True, exist_ok=True)
    for split, count in (("trainval", trainval), ("test", test)):
        lines = []
        for i in range(count):
            name = f"{prefix}_{split}_{i}"
            image, trimap = draw_pair(rng, int(rng.integers(40, 90)), int(rng.integers(40, 90)))
            image.save(base / "images" / f"{name}.jpg", quality=90)
            trimap.save(base / "annotations" / "trimaps" / f"{name}.png")
            lines.append(f"{name} 1 1 1")
        (base / "annotations" / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return Path(root)
