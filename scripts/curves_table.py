"""Validation curves of training runs as a markdown table (docs/training.md's run tables).

    python scripts/curves_table.py checkpoints runs/fanin runs/fanin-dsc --every 10
One row per model per folder: validation pixel accuracy every N epochs (from the checkpoint's
`history[]`), the training loss at its last epoch, the recipe fields it changed from the
default recipe and the training seed. Reads metadata only: no model is run and the test split
is not touched.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seg.train.recipes import RECIPES, differences, from_metadata  # noqa: E402


def changed_from_default(record: dict) -> str:
    changes = differences(from_metadata(record), RECIPES["default"])
    return ", ".join(f"{f}={v}" for f, v in changes.items() if f != "name") or "default recipe"


def curve_row(meta: dict, folder: Path, every: int, last: int) -> str:
    by_epoch = {h["epoch"]: h for h in meta["history"]}
    cells = [f"{by_epoch[e]['val_pixel_accuracy']:.1%}" if e in by_epoch else "" for e in range(every, last + 1, every)]
    final = meta["history"][-1]
    return (f"| `{folder}` | {meta['model']} | {changed_from_default(meta['recipe'])} | {meta['training']['seed']} | "
            + " | ".join(cells)
            + f" | {final['train_loss']:.3f} (epoch {final['epoch']}) |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--every", type=int, default=10)
    args = parser.parse_args(argv)
    metas = [(folder, json.loads(p.read_text())) for folder in args.folders
             for p in sorted(folder.glob("segnet_*.json"))]
    if not metas:
        print(f"error: no segnet_*.json in {', '.join(map(str, args.folders))}", file=sys.stderr)
        return 2
    last = max(meta["recipe"]["epochs"] for _, meta in metas)
    epochs = list(range(args.every, last + 1, args.every))
    print("| run | model | recipe | seed | " + " | ".join(f"val @ {e}" for e in epochs) + " | training loss, last epoch |")
    print("|---|---|---|---:|" + "---:|" * len(epochs) + "---:|")
    for folder, meta in metas:
        print(curve_row(meta, folder, args.every, last))
    return 0


if __name__ == "__main__":
    sys.exit(main())
