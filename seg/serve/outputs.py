"""The files the Segment tab hands to Gradio: per-request folders, display overlays, mask PNGs."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from seg.files import pid_alive
from seg.serve.overlay import blend, mask_png, upsample_logits

WRITERS = ThreadPoolExecutor(4, thread_name_prefix="png")
DISPLAY_MAX = 1024  # overlays are shown at most this wide; downloads keep the full size
DISPLAY_QUALITY = 90  # overlays are for the eye: JPEG encodes ~5x faster than PNG; masks stay PNG


PREFIX = "segnet-demo-"  # then the app's process id


def orphaned_output_dirs(parent=None) -> list[Path]:
    """Output folders of app processes that are gone: killed, their atexit cleanup never ran."""
    parent = Path(parent or tempfile.gettempdir())
    found = []
    for folder in parent.glob(f"{PREFIX}*-*"):
        pid = folder.name[len(PREFIX):].split("-")[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            found.append(folder)
    return found


class OutputDir:
    """Per-request folders for the PNGs handed to Gradio; old ones are deleted as new ones come, and
    a killed app's are deleted when the next one starts."""

    def __init__(self, max_age_s: float = 900):
        for orphan in orphaned_output_dirs():
            shutil.rmtree(orphan, ignore_errors=True)
        self.root = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
        self.max_age_s = max_age_s
        atexit.register(self.cleanup)

    def new(self) -> Path:
        cutoff = time.time() - self.max_age_s
        for old in self.root.iterdir():
            try:
                if old.stat().st_mtime < cutoff:
                    shutil.rmtree(old, ignore_errors=True)
            except FileNotFoundError:
                pass  # another request swept it first
        folder = self.root / uuid.uuid4().hex
        folder.mkdir()
        return folder

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


def display_copy(photo: Image.Image) -> Image.Image:
    if max(photo.size) <= DISPLAY_MAX:
        return photo
    shown = photo.copy()
    shown.thumbnail((DISPLAY_MAX, DISPLAY_MAX), Image.Resampling.BILINEAR)
    return shown


def save_display(image: Image.Image, folder: Path, stem: str) -> str:
    """An image for display only (overlay, disagreement map): JPEG at display size."""
    path = folder / f"{stem}.jpg"
    image.save(path, format="JPEG", quality=DISPLAY_QUALITY, subsampling=0)  # 4:4:4: crisp mask edges
    return str(path)


def overlay_file(shown: Image.Image, mask: np.ndarray, opacity: float, folder: Path, name: str) -> str:
    return save_display(blend(shown, mask, opacity), folder, f"{name}-overlay")


def mask_file(logits, size, folder: Path, name: str) -> str:
    return str(mask_png(upsample_logits(logits, size), folder / f"{name}-mask.png"))


def write_files(photo: Image.Image, shown: Image.Image, logits: dict, opacity: float, folder: Path):
    """Per variant an overlay at display size and a mask PNG at the photo's size, each mask the
    variant's logits upsampled to that size, all at once (encoding is most of a request after the
    models, and PIL releases the GIL). Returns (overlays, masks shown at display size, mask
    files), each {variant: ...}."""
    shown_masks = {n: upsample_logits(v, shown.size) for n, v in logits.items()}
    jobs = [(overlay_file, shown, shown_masks[n], opacity, folder, n) for n in logits]
    jobs += [(mask_file, logits[n], photo.size, folder, n) for n in logits]
    files = list(WRITERS.map(lambda job: job[0](*job[1:]), jobs))
    return dict(zip(logits, files[:len(logits)])), shown_masks, dict(zip(logits, files[len(logits):]))
