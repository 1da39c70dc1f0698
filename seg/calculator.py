"""The cost calculator's handlers: sliders in, charts and tables out, all from seg.cost."""

from __future__ import annotations

from .charts import segnet_figure, stack_figures
from .config import BLOCK_NAMES
from .cost import human, segnet_cost, stack_cost

DEFAULTS = {"size": 128, "kernel": 3, "channels": 64, "layers": 4}  # the seed's Figure 4
DEFAULT_DSC_BLOCKS = ["enc3", "enc4", "dec4", "dec3"]  # the deep, wide blocks hold most weights
STACK_HEADERS = ["layer", "H×W", "C_in→C_out", "regular params", "DSC params (dw + pw)",
                 "regular mult-adds", "DSC mult-adds", "DSC / regular"]
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


def stack_rows(table) -> list[list]:
    rows = [[r["layer"], f"{r['height']}×{r['width']}", f"{r['in_ch']}→{r['out_ch']}",
             f"{r['regular_params']:,}", f"{r['dsc_params']:,} ({r['dsc_dw_params']:,} + {r['dsc_pw_params']:,})",
             f"{r['regular_mult_adds']:,}", f"{r['dsc_mult_adds']:,}", f"{r['ratio']:.4f}"]
            for r in table["rows"]]
    t = table["totals"]
    rows.append(["total", "", "", f"{t['regular_params']:,}", f"{t['dsc_params']:,}",
                 f"{t['regular_mult_adds']:,}", f"{t['dsc_mult_adds']:,}", f"{t['mult_adds_ratio']:.4f}"])
    return rows


def segnet_summary(mix, baselines) -> str:
    reg = baselines["regular"]["totals"]
    lines = ["| SegNet | parameters | mult-adds | of all-regular |", "|---|---:|---:|---:|"]
    for label, totals in (("all regular", reg), ("your mix", mix["totals"]), ("all DSC", baselines["dsc"]["totals"])):
        lines.append(f"| {label} | {human(totals['params'])} ({totals['params']:,}) | "
                     f"{human(totals['mult_adds'])} | {totals['mult_adds'] / reg['mult_adds']:.1%} |")
    return "\n".join(lines)


def cost_view(size, kernel, channels, layers, dsc_blocks):
    """Everything the tab shows for one configuration (the single /cost endpoint)."""
    size, kernel, channels, layers = int(size), int(kernel), int(channels), int(layers)
    table = stack_cost(size, kernel, channels, layers)
    kinds = kinds_from_dsc_blocks(dsc_blocks)
    mix = segnet_cost(kinds, size, kernel)
    baselines = {k: segnet_cost(k, size, kernel) for k in ("regular", "dsc")}
    segnet_rows = [[b["block"], b["kind"], f"{b['height']}×{b['width']}", f"{b['params']:,}", f"{b['mult_adds']:,}"]
                   for b in mix["blocks"]]
    return (*stack_figures(table), stack_rows(table), segnet_figure(mix, baselines), segnet_rows,
            segnet_summary(mix, baselines))


def crosscheck(size, kernel, channels, layers, dsc_blocks) -> str:
    """Build the same layers in PyTorch and let torchinfo count them: the numbers must agree."""
    from torchinfo import summary  # imported here: the calculator itself needs no torch

    from .layers import build_stack
    from .models import create_model

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
