"""The Segment tab: a photo path in, overlays, mask files and numbers out; and its layout."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from ..config import VARIANTS
from ..cost import human
from ..inference import SAMPLE_PHOTO, Models, PhotoError, blend, load_photo, mask_png, upsample_mask
from ..metrics import mask_agreement
from ..timing import Stopwatch
from .common import TITLES, gpu, legend_html

WRITERS = ThreadPoolExecutor(4, thread_name_prefix="png")
DIM, DISAGREE, DISAGREE_NAME = 0.35, (255, 0, 255), "magenta"  # the disagreement map's photo and paint
DISPLAY_MAX = 1024  # overlays are shown at most this wide; downloads keep the full size
DISPLAY_QUALITY = 90  # overlays are for the eye: JPEG encodes ~5x faster than PNG; masks stay PNG


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


def save_display(image: Image.Image, folder: Path, stem: str) -> str:
    """An image for display only (overlay, disagreement map): JPEG at display size."""
    path = folder / f"{stem}.jpg"
    image.save(path, format="JPEG", quality=DISPLAY_QUALITY, subsampling=0)  # 4:4:4: crisp mask edges
    return str(path)


def overlay_file(shown: Image.Image, mask: np.ndarray, opacity: float, folder: Path, name: str) -> str:
    return save_display(blend(shown, mask, opacity), folder, f"{name}-overlay")


def mask_file(mask, size, folder: Path, name: str) -> str:
    return str(mask_png(upsample_mask(mask, size), folder / f"{name}-mask.png"))


@dataclass
class SegmentResult:
    """One photo through both models, named; `outputs()` is the order of the tab's components
    and of what /segment returns."""

    overlays: dict  # variant -> overlay PNG path (display size)
    masks: dict  # variant -> palette mask PNG path (photo size)
    stats: str  # the markdown table under the overlays
    summary: dict  # numbers: photo size, per-model ms / params / mult-adds, agreement, server ms
    state: dict  # what a re-blend needs: the shown photo and masks

    def outputs(self) -> tuple:
        return (*self.overlays.values(), *self.masks.values(), self.stats, self.summary, self.state)


class SegmentTab:
    """Each method is one event of the Segment tab, over models loaded once at start-up."""

    def __init__(self, models: Models, output_ttl_s: float = 900):
        self.models = models
        self.output_dir = OutputDir(output_ttl_s)

    def status_markdown(self) -> str:
        if not self.models.errors:
            return ""
        lines = [f"- **{TITLES[n]}** is not available: {msg}" for n, msg in self.models.errors.items()]
        return "⚠️ Checkpoints missing or unreadable; the cost calculator still works.\n" + "\n".join(lines)

    def segment(self, photo_path, opacity: float = 0.5) -> SegmentResult:
        """Both models on one photo: overlays, full-size mask PNGs, a summary, and re-blend state."""
        watch = Stopwatch()
        try:
            photo = load_photo(photo_path)
        except PhotoError as err:
            raise gr.Error(str(err)) from None
        if self.models.errors:
            raise gr.Error(" ".join(self.models.errors.values()))
        folder, shown = self.output_dir.new(), display_copy(photo)
        watch.lap("decode, display copy")
        try:  # nothing else runs meanwhile: the models' ms must be their own, not shared cores
            results = self.models.segment(photo)
        except RuntimeError as err:  # a failed run is this request's; the next one runs afresh
            raise gr.Error(f"The models could not run on this photo ({err}). Please try again.") from None
        watch.lap("models")
        masks_shown = {n: upsample_mask(results[n]["mask"], shown.size) for n in VARIANTS}
        # Encoding is most of what is left, and PIL and torch release the GIL: the four files at once.
        jobs = [(overlay_file, shown, masks_shown[n], opacity, folder, n) for n in VARIANTS]
        jobs += [(mask_file, results[n]["mask"], photo.size, folder, n) for n in VARIANTS]
        files = list(WRITERS.map(lambda job: job[0](*job[1:]), jobs))
        watch.lap("upsample, blend, encode files")
        summary = self.summarize(photo, results)
        watch.lap("summary")
        summary.update(server_ms=watch.total_ms(), stages_ms=watch.laps)
        return SegmentResult(dict(zip(VARIANTS, files[:len(VARIANTS)])), dict(zip(VARIANTS, files[len(VARIANTS):])),
                             stats_markdown(summary), summary, {"photo": np.asarray(shown), "masks": masks_shown})

    def summarize(self, photo: Image.Image, results: dict) -> dict:
        models = {}
        for name in VARIANTS:
            meta = self.models.loaded[name].meta
            models[name] = {"ms": round(results[name]["ms"], 2), "params": meta["params"],
                            "mult_adds": meta["mult_adds"], "input_size": meta["input_size"],
                            "device": str(self.models.loaded[name].device)}
        agreement = mask_agreement(*(results[n]["mask"] for n in VARIANTS))
        return {"photo_size": list(photo.size), "models": models, "agreement": agreement}

    def segment_outputs(self, photo_path, opacity: float = 0.5) -> tuple:
        return self.segment(photo_path, opacity).outputs()

    def reblend(self, state, opacity: float):
        """New overlays at another opacity from the kept masks, without running the models."""
        if not state:
            return gr.skip(), gr.skip()
        folder, photo = self.output_dir.new(), Image.fromarray(state["photo"])
        return tuple(WRITERS.map(lambda n: overlay_file(photo, state["masks"][n], opacity, folder, n), VARIANTS))

    def compare(self, state, overlay_reg, overlay_dsc):
        """One view of both results: the two overlays under a slider, and where the masks differ
        (the photo dimmed, disagreeing pixels painted). Built from the kept masks: no model run."""
        if not state:
            return gr.skip(), gr.skip(), gr.skip()
        photo, (a, b) = state["photo"], (state["masks"][n] for n in VARIANTS)
        differ = a != b
        shown = (photo * DIM).round().astype(np.uint8)
        shown[differ] = DISAGREE
        path = self.output_dir.new() / "disagreement.png"  # PNG: a crisp map, every pixel exact
        Image.fromarray(shown).save(path, format="PNG", compress_level=1)
        caption = (f"**Where the masks disagree** ({DISAGREE_NAME}): {differ.mean():.1%} of the pixels. "
                   "Drag the slider over the photo: left {}, right {}.".format(*(TITLES[n] for n in VARIANTS)))
        return (overlay_reg, overlay_dsc), str(path), caption

    def render(self):
        gr.Markdown(self.status_markdown(), visible=bool(self.models.errors))
        with gr.Row():
            photo = PhotoInput(type="filepath", image_mode=None, sources=["upload", "clipboard", "webcam"],
                               label="Your pet photo", height=360)
            with gr.Column():
                run = gr.Button("Segment with both models", variant="primary")
                opacity = gr.Slider(0, 1, value=0.5, step=0.05, label="Mask opacity")
                gr.HTML(legend_html())
        with gr.Row():
            overlays = [gr.Image(label=TITLES[n], format="jpeg", type="filepath", interactive=False) for n in VARIANTS]
        stats = gr.Markdown()
        with gr.Row():
            slider = gr.ImageSlider(label="Regular ⟷ DSC on the same photo", type="filepath", interactive=False)
            disagreement = gr.Image(label="Where they disagree", type="filepath", format="png", interactive=False)
        compare_caption = gr.Markdown()
        with gr.Row():
            masks = [gr.File(label=f"{TITLES[n].split()[0]} mask (PNG, photo size; pixel value = class)")
                     for n in VARIANTS]
        with gr.Accordion("Raw result (what /segment returns)", open=False):
            result = gr.JSON()
        state = gr.State()
        outputs = [*overlays, *masks, stats, result, state]
        segment = gpu(self.segment_outputs)
        compared = dict(fn=self.compare, inputs=[state, *overlays], outputs=[slider, disagreement, compare_caption],
                        api_visibility="private", show_progress="hidden")  # /segment itself stays as it was
        gr.on([run.click, photo.upload], segment, [photo, opacity], outputs, api_name="segment",
              concurrency_limit=1, concurrency_id="models").then(**compared)  # one model run at a time
        opacity.change(self.reblend, [state, opacity], overlays, trigger_mode="always_last",
                       api_visibility="private", show_progress="hidden").then(**compared)
        gr.Examples([[str(SAMPLE_PHOTO)]], [photo], outputs, fn=segment, cache_examples=not self.models.errors,
                    cache_mode="lazy", label="Try the sample cat")


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
