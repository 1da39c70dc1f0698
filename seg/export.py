"""`python -m seg.export`: a checkpoint as an ONNX or ExecuTorch file, fp32 or int8, verified.

The code lives in seg/deploy/export.py; this module keeps the name people type."""

import sys

from seg.deploy.export import *  # noqa: F401,F403
from seg.deploy.export import main

if __name__ == "__main__":
    sys.exit(main())
