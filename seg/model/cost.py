"""Exact parameters and mult-adds, analytically, counted the way torchinfo counts them.

Conv: (weight + bias elements) x output pixels. BatchNorm: its 2C parameters once per
image. ReLU and (un)pooling: none. Batch size 1. No forward pass, no torch import.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass

from seg.model.config import (
    ARCHITECTURES,
    BLOCK_NAMES,
    CONV_KINDS,
    DEFAULT_WIDTH,
    UNET_BLOCK_NAMES,
    NetConfig,
    check_kernel,
    check_positive,
    check_size,
    resolve_kinds,
    segnet_layout,
    unet_widths,
)
from seg.model.variants import variant_config


@dataclass(frozen=True)
class LayerCost:
    name: str
    op: str  # conv, conv_dw, conv_pw, conv_transpose or bn
    in_ch: int
    out_ch: int
    kernel: int
    height: int  # of the output
    width: int
    params: int
    mult_adds: int
    bias: bool = False


def conv_cost(kind, name, in_ch, out_ch, kernel, height, width, bias=False) -> list[LayerCost]:
    """A regular conv is one row; a DSC is its depthwise and its pointwise row."""
    pixels = height * width
    if kind == "regular":
        params = kernel * kernel * in_ch * out_ch + (out_ch if bias else 0)
        return [LayerCost(name, "conv", in_ch, out_ch, kernel, height, width, params, params * pixels, bias)]
    dw = kernel * kernel * in_ch
    pw = in_ch * out_ch + (out_ch if bias else 0)
    return [
        LayerCost(f"{name}.conv_dw", "conv_dw", in_ch, in_ch, kernel, height, width, dw, dw * pixels),
        LayerCost(f"{name}.conv_pw", "conv_pw", in_ch, out_ch, 1, height, width, pw, pw * pixels, bias),
    ]


def bn_cost(name, channels, height, width) -> LayerCost:
    return LayerCost(name, "bn", channels, channels, 1, height, width, 2 * channels, 2 * channels)


def total(rows) -> dict:
    return {"params": sum(r.params for r in rows), "mult_adds": sum(r.mult_adds for r in rows)}


def human(n: float) -> str:
    """15274889 -> '15.27M', the seed's way of writing sizes."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(int(n))


def stack_cost(size=128, kernel=3, channels=64, layers=4, halving=True) -> dict:
    """The seed's halving/doubling stack: layer i at H/2^i maps C*2^i -> C*2^(i+1) channels.

    halving=False keeps every layer at the input size, as the seed's notebook computed it.
    """
    check_kernel(kernel, name="kernel")
    check_positive("channels", channels)
    check_positive("layers", layers)
    height, width = check_size(size, min_size=2 ** (layers - 1))
    rows = []
    for i in range(layers):
        shift = i if halving else 0
        h, w, cin, cout = height >> shift, width >> shift, channels << i, channels << (i + 1)
        reg = conv_cost("regular", f"layer{i + 1}", cin, cout, kernel, h, w)
        dw, pw = conv_cost("dsc", f"layer{i + 1}", cin, cout, kernel, h, w)
        rows.append({
            "layer": i + 1, "in_ch": cin, "out_ch": cout, "height": h, "width": w,
            "regular_params": reg[0].params, "regular_mult_adds": reg[0].mult_adds,
            "dsc_dw_params": dw.params, "dsc_pw_params": pw.params,
            "dsc_params": dw.params + pw.params,
            "dsc_dw_mult_adds": dw.mult_adds, "dsc_pw_mult_adds": pw.mult_adds,
            "dsc_mult_adds": dw.mult_adds + pw.mult_adds,
            "ratio": (dw.params + pw.params) / reg[0].params,  # = 1/C_out + 1/k^2
        })
    totals = {key: sum(r[key] for r in rows) for key in
              ("regular_params", "regular_mult_adds", "dsc_params", "dsc_mult_adds")}
    totals["params_ratio"] = totals["dsc_params"] / totals["regular_params"]
    totals["mult_adds_ratio"] = totals["dsc_mult_adds"] / totals["regular_mult_adds"]
    config = {"size": [height, width], "kernel": kernel, "channels": channels, "layers": layers,
              "halving": halving}
    return {"config": config, "rows": rows, "totals": totals}


def segnet_layers(kinds="regular", size=128, kernel=3, base_channels=64, num_classes=3):
    """Every parameterised layer of the SegNet, in forward order, with its block name."""
    kinds = resolve_kinds(kinds)
    check_kernel(kernel, name="kernel")
    height, width = check_size(size)
    # Encoder block i runs at the size halved i times (floor, as MaxPool2d); its decoder
    # twin runs at the same size because MaxUnpool2d is given the pre-pool size.
    sizes = [(height >> i, width >> i) for i in range(4)]
    sizes += sizes[::-1]
    rows = [("input", bn_cost("input_bn", 3, height, width))]
    for block, kind, (h, w), convs in zip(BLOCK_NAMES, kinds, sizes, segnet_layout(base_channels, num_classes)):
        for j, c in enumerate(convs, 1):
            name = f"{block}.head" if c.head else f"{block}.conv{j}"
            rows += [(block, r) for r in conv_cost(kind, name, c.in_ch, c.out_ch, kernel, h, w, bias=c.head)]
            if not c.head:
                rows.append((block, bn_cost(f"{block}.bn{j}", c.out_ch, h, w)))
    return rows


def unet_layers(kinds="regular", size=128, kernel=3, base_channels=DEFAULT_WIDTH["unet"], num_classes=3):
    """Every parameterised layer of the U-Net (seg/model/unet.py), in forward order, with its block."""
    kinds = resolve_kinds(kinds, UNET_BLOCK_NAMES)
    check_kernel(kernel, name="kernel")
    height, width = check_size(size)
    widths = unet_widths(base_channels)

    def double_conv(block, kind, in_ch, out_ch, h, w):
        rows = []
        for j, (a, b) in enumerate(((in_ch, out_ch), (out_ch, out_ch)), 1):
            rows += [(block, r) for r in conv_cost(kind, f"{block}.conv{j}", a, b, kernel, h, w)]
            rows.append((block, bn_cost(f"{block}.bn{j}", b, h, w)))
        return rows

    rows = [("input", bn_cost("input_bn", 3, height, width))]
    for level, (block, in_ch) in enumerate(zip(UNET_BLOCK_NAMES[:5], [3, *widths[:4]])):
        rows += double_conv(block, kinds[level], in_ch, widths[level], height >> level, width >> level)
    for level, block in zip(range(3, -1, -1), UNET_BLOCK_NAMES[5:]):
        h, w, up_params = height >> level, width >> level, 4 * widths[level + 1] * widths[level] + widths[level]
        up_h, up_w = 2 * (height >> level + 1), 2 * (width >> level + 1)  # one short of an odd side: padded after
        rows.append((block, LayerCost(f"{block}.up", "conv_transpose", widths[level + 1], widths[level], 2, up_h, up_w,
                                      up_params, up_params * up_h * up_w, bias=True)))
        rows += double_conv(block, kinds[UNET_BLOCK_NAMES.index(block)], 2 * widths[level], widths[level], h, w)
    return rows + [("dec1", r) for r in conv_cost("regular", "dec1.head", widths[0], num_classes, 1, height, width,
                                                    bias=True)]


def cost_table(rows, blocks, kinds, config) -> dict:
    """Per layer, per block and in total, from a net's rows."""
    kinds_by_block = dict(zip(blocks, kinds))
    summary = []
    for block in ("input", *blocks):
        members = [r for b, r in rows if b == block]
        summary.append({"block": block, "kind": kinds_by_block.get(block, "bn"),
                        "height": members[0].height, "width": members[0].width, **total(members)})
    layers = [{"block": b, **asdict(r)} for b, r in rows]
    return {"config": {**config, "kinds": kinds_by_block}, "layers": layers, "blocks": summary,
            "totals": total([r for _, r in rows])}


LAYERS = {"segnet": segnet_layers, "unet": unet_layers}


def net_cost(architecture: str, kinds="regular", size=128, kernel=3, base_channels=None, num_classes=3) -> dict:
    """Per layer, per block and in total, for either architecture, any per-block kind assignment
    and input size; base_channels None: the architecture's width."""
    base_channels = DEFAULT_WIDTH[architecture] if base_channels is None else base_channels
    rows = LAYERS[architecture](kinds, size, kernel, base_channels, num_classes)
    blocks = ARCHITECTURES[architecture]
    config = {"architecture": architecture, "size": list(check_size(size)), "kernel": kernel,
              "base_channels": base_channels, "num_classes": num_classes}
    return cost_table(rows, blocks, resolve_kinds(kinds, blocks), config)


def segnet_cost(kinds="regular", size=128, kernel=3, base_channels=None, num_classes=3) -> dict:
    return net_cost("segnet", kinds, size, kernel, base_channels, num_classes)


def config_cost(config: NetConfig, size=128) -> dict:
    """The cost of any net described by its config (a loaded checkpoint's, a variant's)."""
    return net_cost(config.architecture, config.kinds, size, config.kernel_size, config.base_channels,
                    config.num_classes)


def model_cost(name: str, size=128, kinds=None, kernel=3, base_channels=None, num_classes=3) -> dict:
    """A named variant's cost (segnet_mixed with its kinds)."""
    config = variant_config(name, kinds, kernel_size=kernel, base_channels=base_channels, num_classes=num_classes)
    return config_cost(config, size)


# ---------------------------------------------------------------- command line


STACK_HEADERS = ["layer", "H×W", "C_in→C_out", "regular params", "DSC params (dw + pw)",
                 "regular mult-adds", "DSC mult-adds", "DSC / regular"]


def stack_rows(table) -> list[list[str]]:
    """The stack table as formatted cells, a total row last: the calculator's and the CLI's."""
    rows = [[r["layer"], f"{r['height']}×{r['width']}", f"{r['in_ch']}→{r['out_ch']}",
             f"{r['regular_params']:,}", f"{r['dsc_params']:,} ({r['dsc_dw_params']:,} + {r['dsc_pw_params']:,})",
             f"{r['regular_mult_adds']:,}", f"{r['dsc_mult_adds']:,}", f"{r['ratio']:.4f}"]
            for r in table["rows"]]
    t = table["totals"]
    rows.append(["total", "", "", f"{t['regular_params']:,}", f"{t['dsc_params']:,}",
                 f"{t['regular_mult_adds']:,}", f"{t['dsc_mult_adds']:,}", f"{t['mult_adds_ratio']:.4f}"])
    return rows


def format_stack(table) -> str:
    lines = ["| " + " | ".join(STACK_HEADERS) + " |", "|---|---|---|" + "---:|" * (len(STACK_HEADERS) - 3)]
    return "\n".join(lines + ["| " + " | ".join(map(str, row)) + " |" for row in stack_rows(table)])


def format_segnet(cost, name) -> str:
    lines = [f"{name} at {cost['config']['size'][0]}×{cost['config']['size'][1]}, kernel {cost['config']['kernel']}",
             "| block | kind | H×W | params | mult-adds |", "|---|---|---|---:|---:|"]
    for b in cost["blocks"]:
        lines.append(f"| {b['block']} | {b['kind']} | {b['height']}×{b['width']} | {b['params']:,} | {b['mult_adds']:,} |")
    t = cost["totals"]
    lines.append(f"| total | | | {t['params']:,} ({human(t['params'])}) | {t['mult_adds']:,} ({human(t['mult_adds'])}) |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seg.cost", description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="128", help="input size: N or HxW (default 128)")
    parser.add_argument("--kernel", type=int, default=3)
    parser.add_argument("--channels", type=int, default=64, help="stack: base channels")
    parser.add_argument("--layers", type=int, default=4, help="stack: number of layers")
    parser.add_argument("--model", help="print a SegNet's per-block table instead of the stack")
    parser.add_argument("--kinds", help=f"with --model segnet_mixed: 8 comma-separated of {CONV_KINDS}")
    parser.add_argument("--no-halving", action="store_true",
                        help="stack: every layer at the input size (the seed notebook's mult-adds)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    try:
        if args.model:
            kinds = args.kinds.split(",") if args.kinds else None
            result = model_cost(args.model, args.size, kinds, kernel=args.kernel)
            text = format_segnet(result, args.model)
        else:
            result = stack_cost(args.size, args.kernel, args.channels, args.layers, not args.no_halving)
            text = format_stack(result)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=1) if args.json else text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
