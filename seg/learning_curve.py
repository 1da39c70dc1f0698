"""`python -m seg.learning_curve`: accuracy against training-set size.

The code lives in seg/reports/learning_curve.py; this module keeps the name people type."""

import sys

from seg.reports.learning_curve import *  # noqa: F401,F403
from seg.reports.learning_curve import main

if __name__ == "__main__":
    sys.exit(main())
