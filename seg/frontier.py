"""`python -m seg.frontier`: every shipped variant's accuracy, size and speed, measured.

The code lives in seg/reports/frontier.py; this module keeps the name people type."""

import sys

from seg.reports.frontier import *  # noqa: F401,F403
from seg.reports.frontier import main

if __name__ == "__main__":
    sys.exit(main())
