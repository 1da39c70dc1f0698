"""Masks at the photo's resolution, nearest labels against bilinear logits, scored against the
real trimaps at full resolution (seg/reports/upsampling.py): writes results/upsampling.json.

    python scripts/upsampling_check.py                 # checkpoints/, the default data root's test split
    python scripts/upsampling_check.py --limit 20      # a quick look, printed only
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seg.data.pets import default_data_root  # noqa: E402
from seg.data.splits import open_split  # noqa: E402
from seg.model.checkpoint import CHECKPOINT_DIR  # noqa: E402
from seg.model.variants import VARIANTS  # noqa: E402
from seg.reports import store, upsampling  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint-dir", type=Path, default=CHECKPOINT_DIR)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--models", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args(argv)
    dataset = open_split(args.data_root or default_data_root(), "test")
    result = upsampling.measure(args.checkpoint_dir, args.models, dataset, args.limit)
    if args.limit is None and args.checkpoint_dir == CHECKPOINT_DIR:  # the shipped figures, every image
        store.save(upsampling.PATH, result)
    print(upsampling.markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
