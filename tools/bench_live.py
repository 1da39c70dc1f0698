"""bench.py's live section: the webcam path (LiveTab.live) on a 640×480 stream, both races."""

from __future__ import annotations

import time

import numpy as np
from PIL import Image

from seg.files import SAMPLE_PHOTO
from seg.model.checkpoint import CHECKPOINT_DIR
from seg.model.variants import PAIR, VARIANTS
from seg.serve.models import Models
from seg.serve.race import FREE_RUNNING, MODES, SAME_FRAMES
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


def live_markdown(live: dict, latency: dict) -> str:
    rows = [f"Live path, {live['frame']} frames ({live['frames']} per race), beside batch-1 latency at 128×128 "
            "(app path):", "", "| race | model | frames/s | mean ms (live) | taken / dropped | batch-1 ms |",
            "|---|---|---:|---:|---:|---:|"]
    for mode in (SAME_FRAMES, FREE_RUNNING):
        for name in PAIR:
            lane, batch1 = live[mode][name], latency[f"{name} | + oneDNN packed conv+ReLU (app) | batch 1"]["median"]
            rows.append(f"| {mode} | {VARIANTS[name].title} | {lane['fps']:.1f} | {lane['mean_ms']:.1f} | "
                        f"{lane['taken']} / {lane['dropped']} | {batch1:.1f} |")
        rows.append(f"| {mode} | the handler (both, blending, readout) | {live[mode]['handler_fps']:.1f} | | | |")
    return "\n".join(rows)
