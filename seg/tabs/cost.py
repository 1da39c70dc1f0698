"""The Cost calculator tab: sliders in, charts and tables out, all from seg.cost; and its layout."""

from __future__ import annotations

import math
from dataclasses import dataclass

import gradio as gr

from seg.model.config import BLOCK_NAMES, check_kernel
from seg.model.cost import STACK_HEADERS, human, segnet_cost, stack_cost, stack_rows
from seg.model.variants import PAIR
from seg.serve.models import Models
from seg.serve.timing import latency_by_size, scaling_markdown
from seg.tabs.anymodel import AnyModel
from seg.tabs.charts import scaling_figure, segnet_figure, stack_figures
from seg.tabs.common import brief

DEFAULTS = {"size": 128, "kernel": 3, "channels": 64, "layers": 4}  # the seed's Figure 4
RANGES = {"size": (32, 512, 1), "kernel": (1, 7, 2), "channels": (8, 256, 8), "layers": (1, 6, 1)}  # min, max, step
DEFAULT_DSC_BLOCKS = ["enc3", "enc4", "dec4", "dec3"]  # the deep, wide blocks hold most weights
SEGNET_HEADERS = ["block", "kind", "H×W", "params", "mult-adds"]

FORMULAS = """
**Regular k×k conv**, C_in → C_out at H×W: parameters k²·C_in·C_out; mult-adds k²·C_in·C_out·H·W.

**Depthwise-separable**: depthwise k×k (one filter per input channel) then pointwise 1×1:
parameters k²·C_in + C_in·C_out; mult-adds (k²·C_in + C_in·C_out)·H·W.

**Ratio** DSC / regular = 1/C_out + 1/k², the same for parameters and mult-adds.
Layer *i* of the stack runs at H/2^i × W/2^i and maps C·2^i → C·2^(i+1) channels (bias-free, no BatchNorm).
"""


def kinds_from_dsc_blocks(dsc_blocks) -> list[str]:
    chosen = set(dsc_blocks or ())
    return ["dsc" if b in chosen else "regular" for b in BLOCK_NAMES]


def block_choices(size, kernel) -> list[tuple[str, str]]:
    """Each block's checkbox label with its share of the all-regular SegNet's parameters and
    mult-adds at this size and kernel: where the cost is, for a person choosing a mix."""
    regular = segnet_cost("regular", int(size), int(kernel))
    total = regular["totals"]
    shares = {b["block"]: (b["params"] / total["params"], b["mult_adds"] / total["mult_adds"])
              for b in regular["blocks"]}
    return [(f"{b} ({shares[b][0]:.1%} of params, {shares[b][1]:.1%} of mult-adds)", b) for b in BLOCK_NAMES]


def segnet_summary(mix, baselines) -> str:
    reg = baselines["regular"]["totals"]
    lines = ["| SegNet | parameters | mult-adds | of all-regular |", "|---|---:|---:|---:|"]
    for label, totals in (("all regular", reg), ("your mix", mix["totals"]), ("all DSC", baselines["dsc"]["totals"])):
        lines.append(f"| {label} | {human(totals['params'])} ({totals['params']:,}) | "
                     f"{human(totals['mult_adds'])} | {totals['mult_adds'] / reg['mult_adds']:.1%} |")
    return "\n".join(lines)


@dataclass
class CostView:
    """Everything the tab shows for one configuration (the single /cost endpoint)."""

    params_figure: object
    mult_adds_figure: object
    ratio_figure: object
    stack_table: list
    segnet_figure: object
    segnet_table: list
    segnet_totals: str


def checked_cost_args(size, kernel, channels, layers, dsc_blocks):
    """/cost's arguments as a client may send them (any JSON: the handler skips Gradio's
    preprocessing, whose failures reach a client as a bare "error"), or gr.Error naming the first
    wrong one."""
    numbers = []
    for (name, (low, high, _)), value in zip(RANGES.items(), (size, kernel, channels, layers)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value != int(value):
            raise gr.Error(f"{name} must be a whole number; got {brief(value)}")
        if not low <= value <= high:
            raise gr.Error(f"{name} must be from {low} to {high}; got {brief(value)}")
        numbers.append(int(value))
    blocks = [] if dsc_blocks is None else dsc_blocks
    if not isinstance(blocks, list) or any(not isinstance(b, str) or b not in BLOCK_NAMES for b in blocks):
        raise gr.Error(f"dsc_blocks must be a list of block names ({', '.join(BLOCK_NAMES)}); got {brief(dsc_blocks)}")
    try:
        check_kernel(numbers[1], name="kernel")
    except ValueError as err:
        raise gr.Error(str(err)) from None
    return (*numbers, blocks)


def cost_view(size, kernel, channels, layers, dsc_blocks) -> CostView:
    size, kernel, channels, layers = int(size), int(kernel), int(channels), int(layers)
    table = stack_cost(size, kernel, channels, layers)
    kinds = kinds_from_dsc_blocks(dsc_blocks)
    mix = segnet_cost(kinds, size, kernel)
    baselines = {k: segnet_cost(k, size, kernel) for k in ("regular", "dsc")}
    segnet_rows = [[b["block"], b["kind"], f"{b['height']}×{b['width']}", f"{b['params']:,}", f"{b['mult_adds']:,}"]
                   for b in mix["blocks"]]
    return CostView(*stack_figures(table), stack_rows(table), segnet_figure(mix, baselines), segnet_rows,
                    segnet_summary(mix, baselines))


def crosscheck(size, kernel, channels, layers, dsc_blocks) -> str:
    """Build the same layers in PyTorch and let torchinfo count them: the numbers must agree."""
    from torchinfo import summary  # torch: imported on the first cross-check, not at start-up

    from seg.model.factory import create_model
    from seg.model.layers import build_stack

    size, kernel, channels, layers = int(size), int(kernel), int(channels), int(layers)
    table = stack_cost(size, kernel, channels, layers)
    lines = ["| what | analytic params | torchinfo params | analytic mult-adds | torchinfo mult-adds | agree |",
             "|---|---:|---:|---:|---:|:-:|"]
    for kind in ("regular", "dsc"):
        stack = build_stack(kind, channels, kernel, layers)
        info = summary(stack, input_size=(1, channels, size, size), verbose=0)
        ours = table["totals"][f"{kind}_params"], table["totals"][f"{kind}_mult_adds"]
        lines.append(row(f"stack, {kind}", ours, (info.total_params, info.total_mult_adds)))
    kinds = kinds_from_dsc_blocks(dsc_blocks)
    model = create_model("segnet_mixed", kinds=kinds, kernel_size=kernel)
    info = summary(model, input_size=(1, 3, size, size), verbose=0)
    mix = segnet_cost(kinds, size, kernel)["totals"]
    lines.append(row("SegNet, your mix", (mix["params"], mix["mult_adds"]), (info.total_params, info.total_mult_adds)))
    return "\n".join(lines)


def row(label, ours, theirs) -> str:
    ok = "✅" if tuple(ours) == tuple(theirs) else "❌"
    return f"| {label} | {ours[0]:,} | {theirs[0]:,} | {ours[1]:,} | {theirs[1]:,} | {ok} |"


def measure_scaling(models: Models):
    """Time both loaded models at 64-512 px on this machine: the curve behind the ratio."""
    missing = models.unavailable(PAIR)
    if missing:
        raise gr.Error(" ".join(missing.values()))
    rows = models.run(latency_by_size, *(models.loaded[n].eager for n in PAIR))
    return scaling_figure(rows), scaling_markdown(rows)


def render(models: Models):
    first = cost_view(*DEFAULTS.values(), DEFAULT_DSC_BLOCKS)
    gr.Markdown("Drag a slider: every number is computed analytically by `seg/model/cost.py`, layer by layer.")
    with gr.Row():
        labels = {"size": "Input size (H = W)", "kernel": "Kernel size k", "channels": "Base channels C",
                  "layers": "Layers L"}
        size, kernel, channels, layers = (gr.Slider(low, high, value=DEFAULTS[name], step=step, label=labels[name])
                                          for name, (low, high, step) in RANGES.items())
    with gr.Row():
        params_plot, macs_plot, ratio_plot = (gr.Plot(value=fig, show_label=False) for fig in
                                              (first.params_figure, first.mult_adds_figure, first.ratio_figure))
    stack_table = gr.Dataframe(value=first.stack_table, headers=STACK_HEADERS, label="Halving/doubling stack",
                               interactive=False, wrap=True)
    gr.Markdown(FORMULAS)
    gr.Markdown("### The real SegNet (base width 64), block by block — same input size and kernel")
    dsc_blocks = gr.CheckboxGroup(block_choices(DEFAULTS["size"], DEFAULTS["kernel"]), value=DEFAULT_DSC_BLOCKS,
                                  label="Blocks built from DSC (each with its share of the all-regular SegNet)")
    with gr.Row():
        segnet_plot = gr.Plot(value=first.segnet_figure, show_label=False)
        with gr.Column():
            segnet_totals = gr.Markdown(first.segnet_totals)
            segnet_table = gr.Dataframe(value=first.segnet_table, headers=SEGNET_HEADERS, interactive=False)
    inputs = [size, kernel, channels, layers, dsc_blocks]
    components = {"params_figure": params_plot, "mult_adds_figure": macs_plot, "ratio_figure": ratio_plot,
                  "stack_table": stack_table, "segnet_figure": segnet_plot, "segnet_table": segnet_table,
                  "segnet_totals": segnet_totals}

    def update(*values):
        view = cost_view(*checked_cost_args(*values))
        return [getattr(view, field) for field in components]  # in the outputs' order: /cost's answer

    gr.on([c.change for c in inputs], update, inputs, list(components.values()), preprocess=False,
          api_name="cost", trigger_mode="always_last", show_progress="hidden")
    gr.on([size.change, kernel.change], lambda s, k: gr.update(choices=block_choices(s, k)), [size, kernel], dsc_blocks,
          api_visibility="private", trigger_mode="always_last", show_progress="hidden")
    check = gr.Button("Cross-check this configuration with torchinfo")
    check_out = gr.Markdown()
    # On the inference thread: torchinfo runs the layers, and torch on a worker thread would
    # leave an OpenMP team there that slows the models' later runs.
    check.click(lambda *values: models.run(crosscheck, *values), inputs, check_out, api_visibility="private")
    AnyModel(models).render()
    gr.Markdown("### Do fewer mult-adds mean less time? Measure it on this machine")
    measure = gr.Button("Time both trained models at 64, 128, 256 and 512 px (about 20 s)")
    with gr.Row():
        scaling_plot = gr.Plot(show_label=False)
        scaling_table = gr.Markdown()
    measure.click(lambda: measure_scaling(models), None, [scaling_plot, scaling_table], api_visibility="private",
                  concurrency_id="models")
