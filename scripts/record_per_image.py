"""Add the test split's per-image confusion matrices to checkpoints scored before train.py recorded
them (`final.confusion_per_image`, as `train.py --test` now writes): the test split is scored afresh
exactly as `train.py --test` scores it, and the metadata is rewritten only where every recorded
figure (pixel accuracy, IoUs, breed groups with their intervals) comes out equal.

    python scripts/record_per_image.py                        # every shipped checkpoint missing them
    python scripts/record_per_image.py segnet_dsc --data-root ../shared/data-official
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from seg.data.pets import default_data_root  # noqa: E402
from seg.data.splits import DEFAULT_CACHE, PetTensors, load_cached_split  # noqa: E402
from seg.model.checkpoint import CHECKPOINT_DIR, load_checkpoint, paths, save_meta  # noqa: E402
from seg.model.variants import VARIANTS  # noqa: E402
from seg.scoring.evaluate import evaluate  # noqa: E402
from seg.scoring.groups import group_report  # noqa: E402
from seg.scoring.metrics import metrics_from_confusion  # noqa: E402

FIGURES = ("pixel_accuracy", "miou", "iou", "groups")


def record(name: str, folder: Path, test) -> str:
    model, meta = load_checkpoint(paths(folder, name)["weights"])
    final = meta.get("final") or {}
    if "confusion_per_image" in final:
        return f"{name}: already recorded"
    images, masks, ids = test
    if final.get("split") != "test" or final.get("images") != len(ids):
        return f"{name}: not scored on these {len(ids)} test images; left as it is"
    scores = evaluate(model, DataLoader(PetTensors(images, masks), batch_size=16), torch.device("cpu"))
    fresh = {**metrics_from_confusion(scores.confmat), "groups": group_report(scores.per_image.numpy(), ids)}
    differ = [k for k in FIGURES if fresh[k] != final[k]]
    if differ:
        return f"{name}: the fresh scoring differs from the recorded {', '.join(differ)}; left as it is"
    final["confusion_per_image"] = scores.per_image.tolist()
    save_meta(folder, name, meta)
    return f"{name}: recorded {len(ids)} images (the fresh figures equal the recorded ones)"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", default=None, help="variants (default: every one with a checkpoint)")
    parser.add_argument("--folder", type=Path, default=CHECKPOINT_DIR)
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args(argv)
    names = args.names or [n for n in VARIANTS if paths(args.folder, n)["weights"].exists()]
    test = load_cached_split(args.data_root or default_data_root(), "test", 128, DEFAULT_CACHE)
    for name in names:
        print(record(name, args.folder, test), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
