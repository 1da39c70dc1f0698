"""`python -m seg.export`: a checkpoint as an ONNX or ExecuTorch file, fp32 or int8, verified. The code
lives in seg/deploy/ (cli.py checks a request before torch loads; export.py makes the files)."""

import importlib

from seg.deploy.cli import main


def __getattr__(name):  # seg.export.check_target, .ensure_export...: targets.py's, else export.py's (torch, on use)
    targets = importlib.import_module("seg.deploy.targets")
    return getattr(targets if hasattr(targets, name) else importlib.import_module("seg.deploy.export"), name)


if __name__ == "__main__":
    raise SystemExit(main())
