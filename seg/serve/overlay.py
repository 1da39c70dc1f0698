"""Masks drawn for people: the legend's colours, masks at the photo's size, overlays, mask files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from seg.data.pets import CLASS_NAMES

COLOURS = np.array([(255, 140, 0), (40, 90, 200), (255, 235, 60)], dtype=np.uint8)  # pet, background, border


def upsample_mask(mask, size_wh) -> np.ndarray:
    """A class mask at the photo's resolution, nearest-neighbour so no new classes appear.

    numpy, not torch: it runs on request and file-writer threads, and a torch op big enough to
    go parallel there would start an OpenMP team per such thread, spinning beside the inference
    thread's. Same pixels as torch's `interpolate(mode="nearest")` (floorf(i * in / out), float32).
    """
    width, height = size_wh
    mask = np.asarray(mask)
    rows = nearest_indices(mask.shape[0], height)
    cols = nearest_indices(mask.shape[1], width)
    return mask[rows[:, None], cols[None, :]].astype(np.uint8)


def upsample_logits(logits, size_wh) -> np.ndarray:
    """The class mask at the photo's resolution: the logits (C x h x w) upsampled bilinearly,
    then the argmax, so edges follow the model's own boundary between pixels instead of the
    staircase of its h x w labels blown up. The pixels of torch's `interpolate(mode="bilinear",
    align_corners=False)` then argmax (up to float rounding at exact ties); numpy for the reason
    `upsample_mask` gives, and one axis at a time (two small passes, not one big gather)."""
    width, height = size_wh
    logits = np.asarray(logits, dtype=np.float32)
    top, bottom, down = bilinear_taps(logits.shape[1], height)
    rows = logits[:, top] * (1 - down)[None, :, None] + logits[:, bottom] * down[None, :, None]
    left, right, across = bilinear_taps(logits.shape[2], width)
    full = rows[:, :, left] * (1 - across) + rows[:, :, right] * across
    return full.argmax(0).astype(np.uint8)


def bilinear_taps(size_in: int, size_out: int):
    """(first source index, second, weight of the second) per output index, half-pixel centres."""
    source = np.maximum((np.arange(size_out, dtype=np.float32) + 0.5) * np.float32(size_in / size_out) - 0.5, 0)
    first = np.minimum(source.astype(np.int64), size_in - 1)
    return first, np.minimum(first + 1, size_in - 1), (source - first).astype(np.float32)


def nearest_indices(size_in: int, size_out: int) -> np.ndarray:
    scale = np.float32(size_in / size_out)
    return np.minimum(np.floor(np.arange(size_out, dtype=np.float32) * scale).astype(np.int64), size_in - 1)


def blend(photo: Image.Image, mask: np.ndarray, opacity: float) -> Image.Image:
    """The photo with each class painted in its legend colour at the given opacity."""
    return Image.blend(photo, Image.fromarray(COLOURS[mask]), float(opacity))  # PIL's C loop


def mask_png(mask: np.ndarray, path) -> Path:
    """A palette PNG: each pixel's index is its class (0 pet, 1 background, 2 border)."""
    img = Image.fromarray(mask, mode="P")
    img.putpalette(COLOURS.flatten().tolist())
    img.save(path, format="PNG", compress_level=1)  # fast; a mask compresses well anyway
    return Path(path)


def legend_html() -> str:
    swatches = "".join(
        f'<span style="display:inline-flex;align-items:center;margin-right:1em">'
        f'<span style="width:1em;height:1em;background:rgb{tuple(int(c) for c in rgb)};'
        f'display:inline-block;margin-right:.35em;border:1px solid #0003"></span>{name}</span>'
        for name, rgb in zip(CLASS_NAMES, COLOURS)
    )
    return f'<div class="legend">{swatches}</div>'
