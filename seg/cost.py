"""`python -m seg.cost`: parameters and mult-adds of any SegNet layout, exactly, layer by layer.

The code lives in seg/model/cost.py; this module keeps the name people type."""

import sys

from seg.model.cost import *  # noqa: F401,F403
from seg.model.cost import main

if __name__ == "__main__":
    sys.exit(main())
