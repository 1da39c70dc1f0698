"""`python -m seg.predict` and `seg.predict.predict`: masks for photos or clips, no server.

The code lives in seg/serve/predict.py; this module keeps the name people type."""

import sys

from seg.serve.predict import *  # noqa: F401,F403
from seg.serve.predict import main

if __name__ == "__main__":
    sys.exit(main())
