"""The shipped regular/DSC pairs (SegNet, U-Net) on the test split, regular against DSC with paired
intervals, overall and by breed group (seg/reports/comparison.py): writes results/comparison.json
and prints its table.

    python scripts/results_table.py                  # checkpoints/
    python scripts/results_table.py runs/final       # another folder's pairs, printed only
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seg.model.checkpoint import CHECKPOINT_DIR  # noqa: E402
from seg.reports import comparison, store  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path, default=CHECKPOINT_DIR)
    args = parser.parse_args(argv)
    result = comparison.measure(args.folder)
    if args.folder.resolve() == CHECKPOINT_DIR.resolve():
        store.save(comparison.PATH, result)
    print(comparison.markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
