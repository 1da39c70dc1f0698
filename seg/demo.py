"""The Segment tab's handlers as plain functions: a photo path in, files and numbers out."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from .charts import scaling_figure
from .checkpoint import CHECKPOINT_DIR
from .cost import human
from .inference import (TITLES, VARIANTS, PhotoError, blend, load_photo, load_variants, mask_png,
                        segment_photo, upsample_mask)
from .metrics import mask_agreement
from .speed import latency_by_size

WRITERS = ThreadPoolExecutor(4, thread_name_prefix="png")
DISPLAY_MAX = 1024  # overlays are shown at most this wide; downloads keep the full size


class PhotoInput(gr.Image):
    """gr.Image that hands over the uploaded file untouched: `load_photo` alone decodes it,
    so every bad upload gets one of its messages instead of a decoder's traceback."""

    is_template = True  # rendered by the frontend as a plain Image

    def preprocess(self, payload):
        if payload is None or (payload.url or "").startswith("data:"):
            return super().preprocess(payload)  # base64 (some webcams): Gradio writes the file
        return payload.path


class OutputDir:
    """Per-request folders for the PNGs handed to Gradio; old ones are deleted as new ones come."""

    def __init__(self, max_age_s: float = 900):
        self.root = Path(tempfile.mkdtemp(prefix="segnet-demo-"))
        self.max_age_s = max_age_s
        atexit.register(self.cleanup)

    def new(self) -> Path:
        cutoff = time.time() - self.max_age_s
        for old in self.root.iterdir():
            try:
                if old.stat().st_mtime < cutoff:
                    shutil.rmtree(old, ignore_errors=True)
            except FileNotFoundError:
                pass  # another request swept it first
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

    def __init__(self, checkpoint_dir=CHECKPOINT_DIR, output_ttl_s: float = 900):
        self.loaded, self.errors = load_variants(checkpoint_dir)
        self.outputs = OutputDir(output_ttl_s)

    def status_markdown(self) -> str:
        if not self.errors:
            return ""
        lines = [f"- **{TITLES[n]}** is not available: {msg}" for n, msg in self.errors.items()]
        return "⚠️ Checkpoints missing or unreadable; the cost calculator still works.\n" + "\n".join(lines)

    def segment(self, photo_path, opacity: float = 0.5):
        """Both models on one photo: overlays, full-size mask PNGs, a summary, and re-blend state."""
        try:
            photo = load_photo(photo_path)
        except PhotoError as err:
            raise gr.Error(str(err)) from None
        if self.errors:
            raise gr.Error(" ".join(self.errors.values()))
        start = time.perf_counter()
        results = segment_photo(photo, self.loaded)
        folder, shown = self.outputs.new(), display_copy(photo)
        masks_shown = {n: upsample_mask(results[n]["mask"], shown.size) for n in VARIANTS}
        # PNG encoding is most of a request's time and PIL releases the GIL while it
        # encodes: the four files are written in parallel.
        jobs = [(save_png, blend(shown, masks_shown[n], opacity), folder / f"{n}-overlay.png") for n in VARIANTS]
        jobs += [(mask_png, upsample_mask(results[n]["mask"], photo.size), folder / f"{n}-mask.png") for n in VARIANTS]
        files = [str(f) for f in WRITERS.map(lambda job: job[0](job[1], job[2]), jobs)]
        models = {}
        for name in VARIANTS:
            meta = self.loaded[name].meta
            models[name] = {"ms": round(results[name]["ms"], 2), "params": meta["params"],
                            "mult_adds": meta["mult_adds"], "input_size": meta["input_size"]}
        agreement = mask_agreement(*(results[n]["mask"] for n in VARIANTS))
        summary = {"photo_size": list(photo.size), "models": models, "agreement": agreement,
                   "server_ms": round((time.perf_counter() - start) * 1000, 1)}
        state = {"photo": np.asarray(shown), "masks": masks_shown}
        return (*files, stats_markdown(summary), summary, state)

    def measure_scaling(self):
        """Time both loaded models at 64-512 px on this machine: the curve behind the ratio."""
        if self.errors:
            raise gr.Error(" ".join(self.errors.values()))
        rows = latency_by_size(*(self.loaded[n].eager for n in VARIANTS))
        lines = ["| input | regular ms | DSC ms | measured ratio | mult-add ratio |", "|---|---:|---:|---:|---:|"]
        lines += [f"| {r['size']}×{r['size']} | {r['regular_ms']:.1f} | {r['dsc_ms']:.1f} | "
                  f"{r['latency_ratio']:.2f}× | {r['mult_adds_ratio']:.2f}× |" for r in rows]
        return scaling_figure(rows), "\n".join(lines)

    def reblend(self, state, opacity: float):
        """New overlays at another opacity from the kept masks, without running the models."""
        if not state:
            return gr.skip(), gr.skip()
        folder, photo = self.outputs.new(), Image.fromarray(state["photo"])
        jobs = [(blend(photo, state["masks"][n], opacity), folder / f"{n}-overlay.png") for n in VARIANTS]
        return tuple(WRITERS.map(lambda job: save_png(*job), jobs))


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
