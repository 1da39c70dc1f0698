"""`python -m seg.evaluate`: score checkpoints on a split, or compare two with paired intervals.

The code lives in seg/scoring/evaluate.py; this module keeps the name people type."""

import sys

from seg.scoring.evaluate import *  # noqa: F401,F403
from seg.scoring.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
