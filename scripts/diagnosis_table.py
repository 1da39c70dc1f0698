"""The table of docs/training.md from the runs of scripts/diagnose.sh (or any folder of runs).

    python scripts/diagnosis_table.py runs/diagnose
One row per run and model: what differs from the seed's recipe, then per epoch the training
loss / validation pixel accuracy.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seg.model.variants import PAIR  # noqa: E402
from seg.train.recipes import RECIPES, differences, from_metadata  # noqa: E402

LABELS = dict(zip(PAIR, ("regular", "DSC")))


def changed_fields(record: dict) -> str:
    recipe = from_metadata(record)
    changes = differences(recipe, RECIPES[recipe.name])
    return ", ".join(f"{f}={v}" for f, v in changes.items() if f not in ("name", "epochs")) or f"{recipe.name} recipe as is"


def rows(folder: Path):
    for run in sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime):  # run order
        for name, label in LABELS.items():
            meta_path = run / f"{name}.json"
            if not meta_path.exists():
                continue
            meta = json.loads(meta_path.read_text())
            cells = [f"{h['train_loss']:.3f} / {h['val_pixel_accuracy']:.1%}" for h in meta["history"]]
            yield run.name, changed_fields(meta["recipe"]), label, cells, meta["training"]["cpu"]


def main(folder: str) -> None:
    table = list(rows(Path(folder)))
    epochs = max(len(r[3]) for r in table)
    print("| run | change from the seed's recipe | model | " + " | ".join(f"epoch {e + 1}" for e in range(epochs)) + " |")
    print("|---|---|---|" + "---:|" * epochs)
    for run, change, label, cells, _ in table:
        print(f"| {run} | {change} | {label} | " + " | ".join(cells + [""] * (epochs - len(cells))) + " |")
    print(f"\nEach cell: training loss / validation pixel accuracy. CPU: {', '.join(sorted({r[4] for r in table}))}.")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/diagnose")
