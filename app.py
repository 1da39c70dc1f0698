"""Regular vs depthwise-separable SegNet: masks side by side, a cost calculator, training replay.

    python app.py        # http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT override)
"""

from __future__ import annotations

import os
from pathlib import Path

import gradio as gr

from seg.calculator import DEFAULT_DSC_BLOCKS, DEFAULTS, FORMULAS, SEGNET_HEADERS, STACK_HEADERS, cost_view, crosscheck
from seg.config import BLOCK_NAMES
from seg.demo import Demo, PhotoInput
from seg.inference import SAMPLE_PHOTO, legend_html
from seg.replay import TrainingRecord

HERE = Path(__file__).resolve().parent
EXAMPLES = [[str(SAMPLE_PHOTO)]]
QUEUE_SIZE = int(os.environ.get("SEG_QUEUE_SIZE", 32))
MAX_UPLOAD = os.environ.get("SEG_MAX_UPLOAD", "10mb")
CACHE_TTL_S = int(os.environ.get("SEG_CACHE_TTL", 1800))  # uploads and outputs are deleted after this
ABOUT = (HERE / "seg" / "assets" / "about.md").read_text()

try:  # ZeroGPU on Hugging Face Spaces; elsewhere the plain function runs
    import spaces

    gpu = spaces.GPU
except ImportError:
    def gpu(fn):
        return fn


def segment_tab(demo: Demo):
    gr.Markdown(demo.status_markdown(), visible=bool(demo.errors))
    with gr.Row():
        photo = PhotoInput(type="filepath", image_mode=None, sources=["upload", "clipboard", "webcam"],
                           label="Your pet photo", height=360)
        with gr.Column():
            run = gr.Button("Segment with both models", variant="primary")
            opacity = gr.Slider(0, 1, value=0.5, step=0.05, label="Mask opacity")
            gr.HTML(legend_html())
    with gr.Row():
        overlay_reg = gr.Image(label="Regular SegNet", format="png", type="filepath", interactive=False)
        overlay_dsc = gr.Image(label="DSC SegNet", format="png", type="filepath", interactive=False)
    stats = gr.Markdown()
    with gr.Row():
        mask_reg = gr.File(label="Regular mask (PNG, photo size; pixel value = class)")
        mask_dsc = gr.File(label="DSC mask (PNG, photo size; pixel value = class)")
    with gr.Accordion("Raw result (what /segment returns)", open=False):
        result = gr.JSON()
    state = gr.State()
    outputs = [overlay_reg, overlay_dsc, mask_reg, mask_dsc, stats, result, state]
    segment = gpu(demo.segment)
    gr.on([run.click, photo.upload], segment, [photo, opacity], outputs, api_name="segment",
          concurrency_limit=1, concurrency_id="models")  # one model run at a time: timings stay honest
    opacity.change(demo.reblend, [state, opacity], [overlay_reg, overlay_dsc], trigger_mode="always_last",
                   api_visibility="private", show_progress="hidden")
    gr.Examples(EXAMPLES, [photo], outputs, fn=segment, cache_examples=not demo.errors,
                cache_mode="lazy", label="Try the sample cat")


def cost_tab(demo: Demo):
    first = cost_view(*DEFAULTS.values(), DEFAULT_DSC_BLOCKS)
    gr.Markdown("Drag a slider: every number is computed analytically by `seg/cost.py`, layer by layer.")
    with gr.Row():
        size = gr.Slider(32, 512, value=DEFAULTS["size"], step=1, label="Input size (H = W)")
        kernel = gr.Slider(1, 7, value=DEFAULTS["kernel"], step=2, label="Kernel size k")
        channels = gr.Slider(8, 256, value=DEFAULTS["channels"], step=8, label="Base channels C")
        layers = gr.Slider(1, 6, value=DEFAULTS["layers"], step=1, label="Layers L")
    with gr.Row():
        params_plot, macs_plot, ratio_plot = (gr.Plot(value=fig, show_label=False) for fig in first[:3])
    stack_table = gr.Dataframe(value=first[3], headers=STACK_HEADERS, label="Halving/doubling stack",
                               interactive=False, wrap=True)
    gr.Markdown(FORMULAS)
    gr.Markdown("### The real SegNet (base width 64), block by block — same input size and kernel")
    dsc_blocks = gr.CheckboxGroup(list(BLOCK_NAMES), value=DEFAULT_DSC_BLOCKS, label="Blocks built from DSC")
    with gr.Row():
        segnet_plot = gr.Plot(value=first[4], show_label=False)
        with gr.Column():
            segnet_totals = gr.Markdown(first[6])
            segnet_table = gr.Dataframe(value=first[5], headers=SEGNET_HEADERS, interactive=False)
    inputs = [size, kernel, channels, layers, dsc_blocks]
    gr.on([c.change for c in inputs], cost_view, inputs,
          [params_plot, macs_plot, ratio_plot, stack_table, segnet_plot, segnet_table, segnet_totals],
          api_name="cost", trigger_mode="always_last", show_progress="hidden")
    check = gr.Button("Cross-check this configuration with torchinfo")
    check_out = gr.Markdown()
    check.click(crosscheck, inputs, check_out, api_visibility="private")
    gr.Markdown("### Do fewer mult-adds mean less time? Measure it on this machine")
    measure = gr.Button("Time both trained models at 64, 128, 256 and 512 px (about 20 s)")
    with gr.Row():
        scaling_plot = gr.Plot(show_label=False)
        scaling_table = gr.Markdown()
    measure.click(demo.measure_scaling, None, [scaling_plot, scaling_table], api_visibility="private",
                  concurrency_id="models")


def training_tab(record: TrainingRecord):
    if not record.metas:
        gr.Markdown("No training metadata in `checkpoints/` yet: run `python train.py`.")
        return
    with gr.Row():
        for fig in record.figures():
            gr.Plot(value=fig, show_label=False)
    gr.Dataframe(value=record.final_table(), label="Test metrics (all 340 test images, evaluated once after "
                 "training) next to the seed's", headers=["model", "pixel accuracy", "mIoU", "seed pixel accuracy",
                 "recipe", "epochs", "train / validation / test images", "training time"], interactive=False)
    if record.epochs:
        gr.Markdown("### How the predictions sharpen, epoch by epoch")
        epoch = gr.Slider(1, record.epochs, value=record.epochs, step=1, label="Epoch")
        with gr.Row():
            sample = gr.Image(value=record.replay_sample(record.epochs), format="png",
                              label=record.sample_caption(), interactive=False, scale=1)
            grid = gr.Image(value=record.replay(record.epochs), format="png", label=record.replay_caption(),
                            interactive=False, scale=2)
        epoch.change(record.replay_both, epoch, [grid, sample], api_visibility="private", show_progress="hidden",
                     trigger_mode="always_last")


def build(checkpoint_dir=None) -> gr.Blocks:
    checkpoint_dir = checkpoint_dir or os.environ.get("SEG_CHECKPOINT_DIR") or HERE / "checkpoints"
    demo, record = Demo(checkpoint_dir, CACHE_TTL_S), TrainingRecord(checkpoint_dir)
    with gr.Blocks(title="Regular vs depthwise-separable SegNet", delete_cache=(max(1, CACHE_TTL_S // 3), CACHE_TTL_S)) as app:
        gr.Markdown("# Regular vs depthwise-separable convolutions, in one SegNet")
        with gr.Tab("Segment"):
            segment_tab(demo)
        with gr.Tab("Cost calculator"):
            cost_tab(demo)
        with gr.Tab("Training"):
            training_tab(record)
        with gr.Tab("About"):
            gr.Markdown(ABOUT)
    return app.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)


if __name__ == "__main__":
    build().launch(max_file_size=MAX_UPLOAD, show_error=False)
