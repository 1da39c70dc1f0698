"""The Segment tab: a photo path in, overlays, mask files and numbers out; and its layout.

The regular and DSC SegNets side by side are the default (and all `/segment` answers); the
mixed variants can be added as further columns (`/segment_variants` for any set of them).
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import numpy as np
from PIL import Image

from seg.files import SAMPLE_PHOTO
from seg.model.variants import PAIR, VARIANTS, extras
from seg.scoring.metrics import mask_agreement
from seg.serve.models import Models
from seg.serve.outputs import WRITERS, OutputDir, display_copy, overlay_file, write_files
from seg.serve.overlay import legend_html
from seg.serve.photos import PhotoError, load_photo
from seg.serve.timing import Stopwatch
from seg.tabs.common import brief, disk_full_is_a_message, gpu
from seg.tabs.summary import agreements, many_markdown, model_numbers, pair_markdown

MAX_VARIANT_NAMES = 32  # different names one /segment_variants call may ask for

DIM, DISAGREE, DISAGREE_NAME = 0.35, (255, 0, 255), "magenta"  # the disagreement map's photo and paint


class PhotoInput(gr.Image):
    """gr.Image that hands over the uploaded file untouched: `load_photo` alone decodes it,
    so every bad upload gets one of its messages instead of a decoder's traceback."""

    is_template = True  # rendered by the frontend as a plain Image

    def preprocess(self, payload):
        if payload is None or (payload.url or "").startswith("data:"):
            return super().preprocess(payload)  # base64 (some webcams): Gradio writes the file
        return payload.path


@dataclass
class SegmentResult:
    """One photo through some variants, named; `outputs()` is the order of the tab's components
    and of what /segment returns."""

    overlays: dict  # variant -> overlay JPEG path (display size)
    masks: dict  # variant -> palette mask PNG path (photo size)
    stats: str  # the markdown table under the overlays
    summary: dict  # numbers: photo size, per-model ms / params / mult-adds, agreement, server ms
    state: dict  # what a re-blend or an added column needs: the shown photo and the masks

    def outputs(self) -> tuple:
        return (*self.overlays.values(), *self.masks.values(), self.stats, self.summary, self.state)


class SegmentTab:
    """Each method is one event of the Segment tab, over models loaded once, behind the page."""

    def __init__(self, models: Models, output_ttl_s: float = 900):
        self.models = models
        self.output_dir = OutputDir(output_ttl_s)
        self.extras = models.present(extras())  # what the visitor may add

    def status(self):
        """The warning above the tab, filled as the page loads: the checkpoints are read behind it."""
        return gr.update(value=self.status_markdown(), visible=bool(self.models.errors))

    def status_markdown(self) -> str:
        if not self.models.errors:
            return ""
        lines = [f"- **{VARIANTS[n].title}** is not available: {msg}" for n, msg in self.models.errors.items()]
        return "⚠️ Checkpoints missing or unreadable; the cost calculator still works.\n" + "\n".join(lines)

    @disk_full_is_a_message
    def segment(self, photo_path, opacity: float = 0.5, names=PAIR) -> SegmentResult:
        """The named variants on one photo: overlays, full-size mask PNGs, a summary, re-blend state."""
        watch = Stopwatch()
        try:
            photo = load_photo(photo_path)
        except PhotoError as err:
            raise gr.Error(str(err)) from None
        missing = self.models.unavailable(names)
        if missing:
            raise gr.Error(" ".join(missing.values()))
        folder, shown = self.output_dir.new(), display_copy(photo)
        watch.lap("decode, display copy")
        try:  # nothing else runs meanwhile: the models' ms must be their own, not shared cores
            results = self.models.segment(photo, names)
        except RuntimeError as err:  # a failed run is this request's; the next one runs afresh
            raise gr.Error(f"The models could not run on this photo ({err}). Please try again.") from None
        watch.lap("models")
        raw = {n: results[n]["mask"].numpy() for n in names}
        overlays, shown_masks, masks = write_files(photo, shown, {n: results[n]["logits"] for n in names}, opacity,
                                                   folder)
        watch.lap("upsample, blend, encode files")
        summary = self.summarize(photo, results)
        watch.lap("summary")
        summary.update(server_ms=watch.total_ms(), stages_ms=watch.laps)
        stats = pair_markdown(summary) if tuple(names) == PAIR else many_markdown(summary["models"], raw)
        state = {"photo": np.asarray(shown), "masks": shown_masks, "raw": raw, "models": summary["models"]}
        return SegmentResult(overlays, masks, stats, summary, state)

    def summarize(self, photo: Image.Image, results: dict) -> dict:
        models = {n: model_numbers(self.models.loaded[n], r["ms"]) for n, r in results.items()}
        pairs = agreements({n: r["mask"] for n, r in results.items()})
        summary = {"photo_size": list(photo.size), "models": models}
        if len(pairs) == 1:
            summary["agreement"] = next(iter(pairs.values()))
        else:
            summary["agreements"] = pairs
        return summary

    def segment_outputs(self, photo_path, opacity: float = 0.5) -> tuple:
        return self.segment(photo_path, opacity).outputs()

    def segment_variants(self, photo_path, variants, opacity: float = 0.5):
        """/segment_variants: any shipped variants by name. Names that cannot run are answered in
        the summary's "errors" (naming what is available), the others still come back."""
        variants = [variants] if isinstance(variants, str) else variants
        if variants and not (isinstance(variants, list) and all(isinstance(v, str) for v in variants)):
            raise gr.Error(f"variants must be a list of names, e.g. {list(VARIANTS)}; got {brief(variants)}")
        variants = list(dict.fromkeys(variants or PAIR))  # each name once, in the order asked
        if len(variants) > MAX_VARIANT_NAMES:
            raise gr.Error(f"variants: {len(variants):,} different names; at most {MAX_VARIANT_NAMES} "
                           f"(there are {len(VARIANTS)} variants)")
        errors = self.models.unavailable(variants)
        runnable = [n for n in variants if n not in errors]
        if not runnable:
            raise gr.Error(" ".join(errors.values()))
        result = self.segment(photo_path, opacity, runnable)
        summary = {**result.summary, "errors": errors}
        return list(result.overlays.values()), list(result.masks.values()), summary

    def add_columns(self, photo_path, opacity, chosen, state):
        """The chosen extra variants beside the pair already shown: their overlays and masks in their
        columns, and one table of every variant shown (run only when a photo was segmented)."""
        chosen = [n for n in self.extras if n in (chosen or ())]
        hidden = [gr.update(visible=n in chosen) for n in self.extras]
        if not state:
            return *hidden, *hidden, gr.skip(), gr.skip()
        pair_state = {k: {n: state[k][n] for n in PAIR} for k in ("masks", "raw", "models")}
        if not chosen:
            summary = {"models": pair_state["models"],
                       "agreement": mask_agreement(*(pair_state["raw"][n] for n in PAIR))}
            return *hidden, *hidden, pair_markdown(summary), {**state, **pair_state}
        extra = self.segment(photo_path, opacity, chosen)
        merged = {k: {**pair_state[k], **extra.state[k]} for k in ("masks", "raw", "models")}
        overlays = [gr.update(visible=n in chosen, value=extra.overlays.get(n)) for n in self.extras]
        masks = [gr.update(visible=n in chosen, value=extra.masks.get(n)) for n in self.extras]
        return *overlays, *masks, many_markdown(merged["models"], merged["raw"]), {**state, **merged}

    @disk_full_is_a_message
    def reblend(self, state, opacity: float):
        """New overlays at another opacity from the kept masks, without running the models."""
        shown = list(PAIR) + self.extras
        if not state:
            return tuple(gr.skip() for _ in shown)
        folder, photo = self.output_dir.new(), Image.fromarray(state["photo"])
        kept = [n for n in shown if n in state["masks"]]
        files = dict(zip(kept, WRITERS.map(lambda n: overlay_file(photo, state["masks"][n], opacity, folder, n), kept)))
        return tuple(files.get(n, gr.skip()) for n in shown)

    @disk_full_is_a_message
    def compare(self, state, overlay_reg, overlay_dsc):
        """One view of both results: the two overlays under a slider, and where the masks differ
        (the photo dimmed, disagreeing pixels painted). Built from the kept masks: no model run."""
        if not state:
            return gr.skip(), gr.skip(), gr.skip()
        photo, (a, b) = state["photo"], (state["masks"][n] for n in PAIR)
        differ = a != b
        shown = (photo * DIM).round().astype(np.uint8)
        shown[differ] = DISAGREE
        path = self.output_dir.new() / "disagreement.png"  # PNG: a crisp map, every pixel exact
        Image.fromarray(shown).save(path, format="PNG", compress_level=1)
        caption = (f"**Where the masks disagree** ({DISAGREE_NAME}): {differ.mean():.1%} of the pixels. "
                   "Drag the slider over the photo: left {}, right {}.".format(*(VARIANTS[n].title for n in PAIR)))
        return (overlay_reg, overlay_dsc), str(path), caption

    def render(self):
        status = gr.Markdown(visible=False)
        gr.on(None, self.status, None, status, api_visibility="private", show_progress="hidden")
        with gr.Row():
            photo = PhotoInput(type="filepath", image_mode=None, sources=["upload", "clipboard", "webcam"],
                               label="Your pet photo", height=360)
            with gr.Column():
                run = gr.Button("Segment with both models", variant="primary")
                opacity = gr.Slider(0, 1, value=0.5, step=0.05, label="Mask opacity")
                chosen = gr.CheckboxGroup([(f"{VARIANTS[n].title}: {VARIANTS[n].blurb}", n) for n in self.extras], value=[],
                                          label="Also show the other variants (mixed SegNets, U-Nets)", visible=bool(self.extras))
                gr.HTML(legend_html())
        with gr.Row():
            overlays = [gr.Image(label=VARIANTS[n].title, format="jpeg", type="filepath", interactive=False) for n in PAIR]
            extra_overlays = [gr.Image(label=VARIANTS[n].title, format="jpeg", type="filepath", interactive=False,
                                       visible=False) for n in self.extras]
        stats = gr.Markdown()
        with gr.Row():
            slider = gr.ImageSlider(label="Regular ⟷ DSC on the same photo", type="filepath", interactive=False)
            disagreement = gr.Image(label="Where they disagree", type="filepath", format="png", interactive=False)
        compare_caption = gr.Markdown()
        with gr.Row():
            masks = [gr.File(label=f"{VARIANTS[n].title.split()[0]} mask (PNG, photo size; pixel value = class)")
                     for n in PAIR]
            extra_masks = [gr.File(label=f"{VARIANTS[n].title.split()[0]} mask (PNG)", visible=False) for n in self.extras]
        with gr.Accordion("Raw result (what /segment returns)", open=False):
            result = gr.JSON()
        state = gr.State()
        self._api_only(photo, opacity)
        outputs = [*overlays, *masks, stats, result, state]
        segment = gpu(self.segment_outputs)
        compared = dict(fn=self.compare, inputs=[state, *overlays], outputs=[slider, disagreement, compare_caption],
                        api_visibility="private", show_progress="hidden")  # /segment itself stays as it was
        added = dict(fn=gpu(self.add_columns), inputs=[photo, opacity, chosen, state],
                     outputs=[*extra_overlays, *extra_masks, stats, state], api_visibility="private",
                     concurrency_limit=1, concurrency_id="models")
        gr.on([run.click, photo.upload], segment, [photo, opacity], outputs, api_name="segment",
              concurrency_limit=1, concurrency_id="models").then(**compared).then(**added)  # one model run at a time
        chosen.input(**added)
        opacity.change(self.reblend, [state, opacity], [*overlays, *extra_overlays], trigger_mode="always_last",
                       api_visibility="private", show_progress="hidden").then(**compared)
        gr.Examples([[str(SAMPLE_PHOTO)]], [photo], outputs, fn=segment,
                    cache_examples=self.models.present(PAIR) == list(PAIR), cache_mode="lazy",
                    label="Try the sample cat")

    def _api_only(self, photo, opacity):
        """/segment_variants for API users: hidden components, the same models and files."""
        # A free list, not a CheckboxGroup: an unknown name gets its own message and the known
        # ones still run (a CheckboxGroup would refuse the whole call).
        variants = gr.JSON(value=list(PAIR), visible=False, label=f"variants, of {', '.join(VARIANTS)}")
        outputs = [gr.Gallery(visible=False), gr.File(file_count="multiple", visible=False), gr.JSON(visible=False)]
        trigger = gr.Button(visible=False)  # an event needs a trigger; API calls fire it directly
        trigger.click(gpu(self.segment_variants), [photo, variants, opacity], outputs, api_name="segment_variants",
                      concurrency_limit=1, concurrency_id="models")
