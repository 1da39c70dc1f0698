"""`python -m seg.export`: a checkpoint as an ONNX or ExecuTorch file, fp32 or int8, verified. The code
lives in seg/deploy/ (cli.py checks a request before torch loads; export.py makes the files)."""

import importlib
import sys

from seg.deploy.cli import main


def __getattr__(name):  # seg.export.ensure_export and the rest: seg.deploy.export, loaded (with torch) on use
    return getattr(importlib.import_module("seg.deploy.export"), name)


if __name__ == "__main__":
    sys.exit(main())
