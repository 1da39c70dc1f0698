"""`python -m seg.runtimes`: exported files timed and checked under their runtimes.

The code lives in seg/deploy/runtimes.py; this module keeps the name people type."""

import sys

from seg.deploy.runtimes import *  # noqa: F401,F403
from seg.deploy.runtimes import main

if __name__ == "__main__":
    sys.exit(main())
