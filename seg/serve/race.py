"""Both models on a stream of frames (webcam or video): what each would manage, frame by frame.

Two ways to race. "same frames": both models run on every frame, and each one's rate is the
throughput it would have alone (1000 / its ms). "as fast as it can": the frames are stamped on
a camera's clock (CAMERA_FPS), and each model takes a frame only once its previous one is done
by that clock and its own measured ms, so the slower model drops frames and its overlay visibly
lags. Both runs still happen one after the other on the app's inference thread (two at once
would share the cores and time each other), which is why the clock is the camera's, not the wall's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from seg.data.pets import CLASS_NAMES
from seg.model.variants import PAIR
from seg.serve.overlay import COLOURS, blend, upsample_logits

SAME_FRAMES, FREE_RUNNING = "same frames", "each as fast as it can"
MODES = (SAME_FRAMES, FREE_RUNNING)
LIVE_MAX_SIDE = 640  # webcam frames are shown at most this wide
CAMERA_FPS = 20.0  # the clock frames are stamped on: the Live tab asks the browser for 20 frames/s


@dataclass
class Lane:
    """One model's side of the race."""

    ms: list = field(default_factory=list)  # every run's milliseconds
    taken: int = 0  # frames it ran on
    dropped: int = 0  # frames that arrived while it was busy (as fast as it can)
    busy_until: float = 0.0  # stream time (s) at which its current frame is done
    overlay: np.ndarray | None = None  # its latest overlay

    def fps(self, elapsed_s: float, mode: str) -> float:
        if mode == SAME_FRAMES:
            return 1000 / np.mean(self.ms) if self.ms else 0.0
        return self.taken / elapsed_s if elapsed_s > 0 else 0.0


@dataclass
class Race:
    mode: str = SAME_FRAMES
    started: float | None = None  # stream time of the first frame
    now: float = 0.0
    arrived: int = 0  # frames so far: the camera clock of the next is arrived / CAMERA_FPS
    lanes: dict = field(default_factory=lambda: {n: Lane() for n in PAIR})

    @property
    def elapsed_s(self) -> float:
        return self.now - self.started if self.started is not None else 0.0


def step(models, frame: Image.Image, race: Race, now: float, opacity: float = 0.5) -> Race:
    """One frame at stream time `now` (seconds): the models due for it run, their lanes update."""
    race.started = now if race.started is None else race.started
    race.now, race.arrived = now, race.arrived + 1
    due = [n for n, lane in race.lanes.items() if race.mode == SAME_FRAMES or now >= lane.busy_until]
    for name in race.lanes:
        if name not in due:
            race.lanes[name].dropped += 1
    if due:
        for name, result in models.segment(frame, due).items():
            lane = race.lanes[name]
            lane.ms.append(result["ms"])
            lane.taken += 1
            lane.busy_until = now + result["ms"] / 1000
            lane.overlay = np.asarray(blend(frame, upsample_logits(result["logits"], frame.size), opacity))
    return race


def readout(race: Race, titles: dict) -> str:
    rows = ["| | frames/s | ms per frame (last · mean) | frames taken | frames dropped |", "|---|---:|---:|---:|---:|"]
    for name, lane in race.lanes.items():
        last = f"{lane.ms[-1]:.1f} · {np.mean(lane.ms):.1f}" if lane.ms else "–"
        rows.append(f"| {titles[name]} | **{lane.fps(race.elapsed_s, race.mode):.1f}** | {last} | {lane.taken} | "
                    f"{lane.dropped} |")
    note = ("each model on every frame; frames/s = 1000 / its mean ms, what it would do alone" if race.mode == SAME_FRAMES
            else f"frames stamped at {CAMERA_FPS:g}/s; each model takes the newest once its last one is done by its own "
                 "ms; frames/s = frames it took per second of camera time")
    return "\n".join(rows) + f"\n\n*{race.mode}*: {note}."


def side_by_side(lanes: dict, race_mode: str, elapsed_s: float, titles: dict) -> np.ndarray:
    """The two overlays next to each other, each captioned with its model and rate, a legend under them."""
    images = [lane.overlay for lane in lanes.values()]
    height, width = images[0].shape[:2]
    band = max(18, height // 14)
    canvas = Image.new("RGB", (width * len(images), height + 2 * band), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=int(band * 0.7))
    for i, (name, lane) in enumerate(lanes.items()):
        canvas.paste(Image.fromarray(images[i]), (i * width, band))
        caption = f"{titles[name]} · {lane.fps(elapsed_s, race_mode):.1f} fps · {np.mean(lane.ms):.0f} ms"
        draw.text((i * width + 6, band * 0.12), caption, fill="black", font=font)
    x = 6
    for label, colour in zip(CLASS_NAMES, COLOURS):
        draw.rectangle((x, height + band * 1.2, x + band * 0.6, height + band * 1.8), fill=tuple(int(c) for c in colour))
        draw.text((x + band * 0.8, height + band * 1.12), label, fill="black", font=font)
        x += int(band * 0.8 + draw.textlength(label, font=font) + band)
    return np.asarray(canvas)


def race_clip(models, frames, fps: float, titles: dict, race: Race, progress=None, expected: int | None = None):
    """Both models on every frame of a clip (same frames), as a generator: the side-by-side frames
    with each model's running rate burned in, made one at a time (a clip's memory stays one frame's);
    `race.lanes[name].ms` holds every frame's milliseconds. `expected`: the frame count, for progress."""
    for index, frame in enumerate(frames):
        step(models, frame, race, index / fps)  # the clip's own clock
        yield side_by_side(race.lanes, race.mode, race.elapsed_s, titles)
        if progress is not None:
            total = max(expected or 0, index + 1)
            progress((index + 1) / total, desc=f"frame {index + 1}" + (f" of about {total}" if expected else ""))
