"""`python -m seg.export`'s command line: the request is checked (seg/deploy/targets.py) before
torch and the exporters (seg/deploy/export.py) are loaded, so a mistake is answered at once."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seg.deploy.targets import FORMATS, UNPOOLS, ExportError, check_target
from seg.model.checkpoint import CHECKPOINT_DIR
from seg.model.variants import VARIANTS

USAGE = """Files a person can deploy: each SegNet as ONNX (ONNX Runtime, onnxruntime-web) or as an
ExecuTorch program lowered to XNNPACK (phones), fp32 or int8, each verified against PyTorch and
written with a JSON card (seg/deploy/export.py makes them).

    python -m seg.export --model segnet_dsc --format pte --int8 --out exports
    python -m seg.export --model segnet_regular --format onnx --out exports
    python -m seg.export --model segnet_dsc --format onnx --unpool edge    # seg/deploy/edge.py's unpooling
"""


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        print(f"seg.export: {message}", file=sys.stderr)
        sys.exit(2)


def main(argv=None) -> int:
    parser = OneLineParser(description=USAGE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help=" | ".join(VARIANTS))
    parser.add_argument("--format", required=True, help=" | ".join(FORMATS))
    parser.add_argument("--int8", action="store_true", help="post-training static quantization")
    parser.add_argument("--unpool", default="maxunpool", help=" | ".join(UNPOOLS))
    parser.add_argument("--out", default="exports")
    parser.add_argument("--checkpoint-dir", default=str(CHECKPOINT_DIR))
    args = parser.parse_args(argv)
    try:
        target = check_target(args.model, args.format, args.int8, args.unpool)
        from seg.deploy.export import export

        card = export(target, args.out, args.checkpoint_dir)
    except ExportError as err:
        print(f"seg.export: {err}", file=sys.stderr)
        return 2
    v = card["verification"]
    print(f"{Path(args.out) / card['file']}: {card['bytes'] / 1e6:.2f} MB, argmax agrees with eager on "
          f"{v['pixel_agreement']:.4%} of pixels ({v['on']})")
    return 0
