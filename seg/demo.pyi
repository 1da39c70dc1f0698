"""The Segment tab's handlers as plain functions: a photo path in, files and numbers out."""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image, UnidentifiedImageError

from .checkpoint import CHECKPOINT_DIR
from .cost import human
from .inference import (VARIANTS, PhotoError, blend, load_photo, load_variants, mask_png,
                        segment_photo, upsample_mask)
from .metrics import mask_agreement

DISPLAY_MAX = 1024  # overlays are shown at most this wide; downloads keep the full size
TITLES = {"segnet_regular": "Regular SegNet", "segnet_dsc": "DSC SegNet"}
NOT_AN_IMAGE = "This file is not an image the app can read. Please upload a JPEG, PNG, WebP or GIF."

from gradio.events import Dependency

class PhotoInput(gr.Image):
    """gr.Image that hands over the uploaded file untouched: `load_photo` alone decodes it,
    so every bad upload gets one of its messages instead of a decoder's traceback."""

    is_template = True  # rendered by the frontend as a plain Image

    def preprocess(self, payload):
        if payload is None or (payload.url or "").startswith("data:"):
            return super().preprocess(payload)  # base64 (some webcams): Gradio writes the file
        return payload.path
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component


class OutputDir:
    """Per-request folders for the PNGs handed to Gradio; old ones are deleted as new ones come."""

    def __init__(self, max_age_s: float = 900):
        self.root = Path(tempfile.mkdtemp(prefix="segnet-demo-"))
        self.max_age_s = max_age_s

    def new(self) -> Path:
        cutoff = time.time() - self.max_age_s
        for old in self.root.iterdir():
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        folder = self.root / uuid.uuid4().hex
        folder.mkdir()
        return folder

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


def display_copy(photo: Image.Image) -> Image.Image:
    if max(photo.size) <= DISPLAY_MAX:
        return photo
    shown = photo.copy()
    shown.thumbnail((DISPLAY_MAX, DISPLAY_MAX), Image.Resampling.BILINEAR)
    return shown


def save_png(image: Image.Image, path: Path) -> str:
    image.save(path, format="PNG", compress_level=1)  # fast: these files live for minutes
    return str(path)


class Demo:
    """Models loaded once at start-up; each method is one event of the Segment tab."""

    def __init__(self, checkpoint_dir=CHECKPOINT_DIR):
        self.loaded, self.errors = load_variants(checkpoint_dir)
        self.outputs = OutputDir()

    def status_markdown(self) -> str:
        if not self.errors:
            return ""
        lines = [f"- **{TITLES[n]}** is not available: {msg}" for n, msg in self.errors.items()]
        return "⚠️ Checkpoints missing or unreadable; the cost calculator still works.\n" + "\n".join(lines)

    def segment(self, photo_path, opacity: float = 0.5):
        """Both models on one photo: overlays, full-size mask PNGs, a summary, and re-blend state."""
        if self.errors:
            raise gr.Error(" ".join(self.errors.values()))
        try:
            photo = load_photo(photo_path)
        except PhotoError as err:
            raise gr.Error(str(err)) from None
        start = time.perf_counter()
        results = segment_photo(photo, self.loaded)
        folder, shown = self.outputs.new(), display_copy(photo)
        masks_shown, overlays, downloads, models = {}, [], [], {}
        for name in VARIANTS:
            masks_shown[name] = upsample_mask(results[name]["mask"], shown.size)
            overlays.append(save_png(blend(shown, masks_shown[name], opacity), folder / f"{name}-overlay.png"))
            full = upsample_mask(results[name]["mask"], photo.size)
            downloads.append(str(mask_png(full, folder / f"{name}-mask.png")))
            meta = self.loaded[name].meta
            models[name] = {"ms": round(results[name]["ms"], 2), "params": meta["params"],
                            "mult_adds": meta["mult_adds"], "input_size": meta["input_size"]}
        agreement = mask_agreement(*(results[n]["mask"] for n in VARIANTS))
        summary = {"photo_size": list(photo.size), "models": models, "agreement": agreement,
                   "server_ms": round((time.perf_counter() - start) * 1000, 1)}
        state = {"photo": np.asarray(shown), "masks": masks_shown}
        return (*overlays, *downloads, stats_markdown(summary), summary, state)

    def reblend(self, state, opacity: float):
        """New overlays at another opacity from the kept masks, without running the models."""
        if not state:
            return gr.skip(), gr.skip()
        folder, photo = self.outputs.new(), Image.fromarray(state["photo"])
        return tuple(save_png(blend(photo, state["masks"][n], opacity), folder / f"{n}-overlay.png")
                     for n in VARIANTS)


def stats_markdown(summary: dict) -> str:
    models = summary["models"]
    reg, dsc = models["segnet_regular"], models["segnet_dsc"]
    rows = ["| | Regular SegNet | DSC SegNet | regular / DSC |", "|---|---:|---:|---:|"]
    rows.append(f"| inference (this photo) | {reg['ms']:.1f} ms | {dsc['ms']:.1f} ms | {reg['ms'] / max(dsc['ms'], 1e-9):.1f}× |")
    rows.append(f"| parameters | {human(reg['params'])} | {human(dsc['params'])} | {reg['params'] / dsc['params']:.1f}× |")
    rows.append(f"| mult-adds at {reg['input_size']}×{reg['input_size']} | {human(reg['mult_adds'])} | "
                f"{human(dsc['mult_adds'])} | {reg['mult_adds'] / dsc['mult_adds']:.1f}× |")
    a = summary["agreement"]
    rows.append(f"\n**Agreement of the two masks:** pet IoU {a['pet_iou']:.1%}, "
                f"pixels labelled alike {a['pixel_agreement']:.1%}.")
    return "\n".join(rows)