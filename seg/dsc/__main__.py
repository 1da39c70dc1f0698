"""`python -m seg.dsc MODEL [--input CxHxW] [--include RE ...] [--exclude RE ...] [--json | --markdown]`

What converting MODEL's convolutions to depthwise-separable ones saves, per convolution and in
total (seg/dsc/report.py). MODEL is torchvision:NAME (built without weights, no network) or
seg:VARIANT. Patterns are regular expressions searched in the convolutions' qualified names.

    python -m seg.dsc torchvision:resnet50 --input 3x224x224
    python -m seg.dsc torchvision:resnet18 --include layer4 --markdown
    python -m seg.dsc seg:segnet_regular --json > segnet.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys

from seg.dsc.convert import REPLACED
from seg.dsc.report import report
from seg.dsc.zoo import UnknownModel, build, default_input
from seg.model.cost import human


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        print(f"seg.dsc: {message}", file=sys.stderr)
        sys.exit(2)


def input_size(text: str) -> tuple[int, int, int]:
    match = re.fullmatch(r"(\d+)[x×](\d+)[x×](\d+)", text.strip())
    if not match or min(map(int, match.groups())) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not an input size: write it as CxHxW, e.g. 3x224x224")
    return tuple(map(int, match.groups()))


def summary(spec: str, result: dict) -> str:
    t = result["totals"]
    if not t["replaced"]:
        return f"{spec}: nothing to convert — none of its {t['convolutions']} convolutions is a dense k×k one."
    return (f"{spec} at {'×'.join(map(str, result['input']))}: {t['replaced']} of {t['convolutions']} convolutions "
            f"become depthwise-separable; parameters {human(t['params_before'])} → {human(t['params_after'])} "
            f"({t['params_after'] / t['params_before']:.1%}), mult-adds {human(t['mult_adds_before'])} → "
            f"{human(t['mult_adds_after'])} ({t['mult_adds_after'] / t['mult_adds_before']:.1%}).")


def markdown(spec: str, result: dict) -> str:
    lines = [summary(spec, result), "", "| convolution | in → out | kernel, stride | params before → after | "
             "mult-adds before → after | share of mult-adds | |", "|---|---|---|---|---|---:|---|"]
    for r in result["convolutions"]:
        lines.append(f"| `{r['name']}` | {r['in']} → {r['out']} | {'×'.join(map(str, r['kernel']))}, "
                     f"{'×'.join(map(str, r['stride']))} | {human(r['params_before'])} → {human(r['params_after'])} | "
                     f"{human(r['mult_adds_before'])} → {human(r['mult_adds_after'])} | {r['share_mult_adds']:.1%} | "
                     f"{'DSC' if r['action'] == REPLACED else r['action']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = OneLineParser(prog="python -m seg.dsc", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="torchvision:NAME or seg:VARIANT")
    parser.add_argument("--input", type=input_size, help="CxHxW (default 3x224x224; 3x128x128 for seg:)")
    parser.add_argument("--include", nargs="+", help="convert only convolutions whose names match")
    parser.add_argument("--exclude", nargs="+", help="leave convolutions whose names match")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="every convolution and the totals, as JSON")
    output.add_argument("--markdown", action="store_true", help="a table of every convolution")
    args = parser.parse_args(argv)
    try:
        model = build(args.model)
        result = report(model, args.input or default_input(args.model), args.include, args.exclude)
    except (UnknownModel, ValueError) as err:
        print(f"seg.dsc: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"model": args.model, **result}, indent=1))
    else:
        print(markdown(args.model, result) if args.markdown else summary(args.model, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
