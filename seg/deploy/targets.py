"""What can be exported, and where files go: formats, Target, the argument checks, ExportError.

Torch-free on purpose: the app's Deploy tab and "On your device" routes are built from these
before torch is imported; seg.deploy.export, which makes the files, is loaded on the first build.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from seg.files import REPO
from seg.model.variants import VARIANTS

FORMATS = ("onnx", "pte")
EXPORT_DIR = Path(os.environ.get("SEG_EXPORT_DIR", REPO / ".exports"))
UNPOOLS = ("maxunpool", "edge")  # edge: seg/deploy/edge.py's formulation (docs/deploy.md)


class ExportError(RuntimeError):
    """A message for the person exporting: one line, no traceback; `errno` where an OSError caused
    it (a full disk is the server's state, not the export's fault: the Deploy tab says so)."""

    def __init__(self, message: str, errno: int | None = None):
        super().__init__(message)
        self.errno = errno


@dataclass(frozen=True)
class Target:
    model: str
    format: str
    int8: bool = False
    unpool: str = "maxunpool"

    @property
    def stem(self) -> str:
        return f"{self.model}{'-edge' if self.unpool == 'edge' else ''}{'-int8' if self.int8 else ''}"

    def file(self, out_dir) -> Path:
        return Path(out_dir) / f"{self.stem}.{self.format}"

    def card(self, out_dir) -> Path:
        return Path(out_dir) / f"{self.stem}.{self.format}.json"


def check_target(model: str, fmt: str, int8: bool = False, unpool: str = "maxunpool") -> Target:
    for value, known, what in ((model, VARIANTS, "model"), (fmt, FORMATS, "format"), (unpool, UNPOOLS, "unpool")):
        if value not in known:
            raise ExportError(f"unknown {what} {value!r}: choose one of {', '.join(known)}")
    if unpool == "edge" and VARIANTS[model].architecture != "segnet":
        raise ExportError(f"--unpool edge rewrites SegNet's max-unpooling; {model} has none (it upsamples with "
                          "transposed convolutions): leave --unpool out")
    return Target(model, fmt, int8, unpool)
