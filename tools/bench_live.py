"""bench.py's live section: the webcam path (LiveTab.live) on a 640×480 stream, both races."""

from __future__ import annotations

import time

import numpy as np
from PIL import Image

from seg.files import SAMPLE_PHOTO
from seg.model.checkpoint import CHECKPOINT_DIR
from seg.model.variants import PAIR
from seg.serve.models import Models
from seg.serve.race import MODES
from seg.tabs.live import LiveTab


def bench_live(frames: int = 40) -> dict:
    """Per race: each model's frames/s and mean ms as the tab shows them, and the handler's own
    frames/s (both models, blending, readout), on the sample photo at 640×480."""
    tab = LiveTab(Models(CHECKPOINT_DIR, names=PAIR))
    frame = np.asarray(Image.open(SAMPLE_PHOTO).convert("RGB").resize((640, 480)))
    result = {"frame": "640×480", "frames": frames}
    for mode in MODES:
        race, start = None, time.perf_counter()
        tab.live(frame, mode, None)  # warm-up: the first blend and readout
        for _ in range(frames):
            race = tab.live(frame, mode, race)[3]
        wall = time.perf_counter() - start
        result[mode] = {"handler_fps": frames / wall,
                        **{n: {"fps": lane.fps(race.elapsed_s, mode), "mean_ms": float(np.mean(lane.ms)),
                               "taken": lane.taken, "dropped": lane.dropped} for n, lane in race.lanes.items()}}
    return result
