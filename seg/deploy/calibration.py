"""int8 ONNX calibration that travels with the checkpoint, so an int8 file can be built where the
dataset is absent (a Space, a fresh clone).

Static quantization needs each activation's range, measured by running real images through the
model. Measured once on trainval images, ONNX Runtime's ranges are kept beside the checkpoint
(`checkpoints/NAME.onnx-calibration.json`) with the checkpoint's SHA-256; an int8 export uses the
table when it belongs to these weights, and otherwise measures afresh on the dataset and writes
the table. The same ranges give the same int8 file on every machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from seg.files import atomic_write

SUFFIX = ".onnx-calibration.json"


@dataclass(frozen=True)
class Calibration:
    images: object | None  # Nx3xSxS float in [0, 1]; None where stored ranges are used instead
    cache: Path | None  # ONNX Runtime's calibration cache: read where it exists, written where not
    measured_on: str
    stored: bool  # the ranges came from the checkpoint's table


def prepare(fmt: str, checkpoint_dir, model: str, weights_sha256: str, tmp: Path, measure) -> Calibration:
    """An ONNX file calibrates from the checkpoint's table where it has one; otherwise (and for
    `.pte`, whose PT2E flow keeps no such table) measure() loads the trainval images."""
    cache = Path(tmp) / "ranges.json" if fmt == "onnx" else None
    table = stored_ranges(checkpoint_dir, model, weights_sha256) if cache else None
    if table is not None:
        write_cache(table, cache)
        return Calibration(None, cache, table["measured_on"], stored=True)
    images = measure()
    return Calibration(images, cache, f"{len(images)} trainval images", stored=False)


def table_path(checkpoint_dir, model: str) -> Path:
    return Path(checkpoint_dir) / f"{model}{SUFFIX}"


def stored_ranges(checkpoint_dir, model: str, weights_sha256: str) -> dict | None:
    """The table's ONNX Runtime ranges and what they were measured on, if made from these weights."""
    try:
        table = json.loads(table_path(checkpoint_dir, model).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(table, dict) or table.get("checkpoint_sha256") != weights_sha256:
        return None  # other weights (retrained since): their ranges would quantize this model wrongly
    return table


def write_cache(table: dict, cache: Path) -> None:
    """ONNX Runtime's own calibration cache (quantize_static's calibration_cache_path) from a table."""
    cache.write_text(json.dumps(table["ranges"]))


def save_table(checkpoint_dir, model: str, weights_sha256: str, cache: Path, measured_on: str, versions: dict):
    table = {"checkpoint_sha256": weights_sha256, "measured_on": measured_on,
             "versions": {k: versions[k] for k in ("torch", "onnxruntime") if k in versions},
             "ranges": json.loads(cache.read_text())}
    atomic_write(table_path(checkpoint_dir, model), lambda tmp: tmp.write_text(json.dumps(table) + "\n"))
