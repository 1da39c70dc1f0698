"""Video in and out through PyAV (FFmpeg in the wheel, nothing fetched at run time), with the
limits and messages an uploaded clip needs.

Everything a visitor's file could make unbounded is checked before the first frame is decoded
(bytes, container, track, frame size, declared length) or bounded while decoding (its real
length, decode time). Frames come out one at a time on a constant clock, upright, at most
MAX_SIDE, so a clip's memory is one frame's, whatever its length, rate or resolution.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator

import av
import numpy as np
from PIL import Image

from seg.files import atomic_write

MAX_SECONDS = 20  # a clip, not a film: both models run on every frame
MAX_BYTES = 10_000_000  # the app's upload limit (SEG_MAX_UPLOAD) is 10 MB too
MAX_SIDE = 1280  # frames are downscaled to this before any work
MAX_FPS = 30  # faster clips are sampled down to this on a constant clock
MAX_SOURCE_PIXELS = 4096 * 4096  # larger frames are refused before decoding: decoder memory grows with them
MAX_DECODE_SECONDS = 60  # decoding alone (not the models) may take this long in all


class VideoError(ValueError):
    """A message for the person who gave the file."""


NOT_A_VIDEO = "This file is not a video the app can read, or it is damaged. Please upload an MP4, WebM or MOV clip."
STILL = "This is a still image, not a video: use the Segment tab for photos."
DAMAGED = "The video is truncated or damaged and cannot be decoded. Please upload another."


@dataclass(frozen=True)
class Clip:
    """A checked clip: what is known before decoding, and its frames on demand."""

    path: Path
    fps: float  # of the frames it yields: the clip's own, at most MAX_FPS
    declared_seconds: float | None  # from the container; None where it says nothing (live WebM)
    max_seconds: float

    @property
    def expected_frames(self) -> int | None:
        return None if self.declared_seconds is None else max(1, round(self.declared_seconds * self.fps))

    def frames(self) -> Iterator[Image.Image]:
        """Upright RGB frames at most MAX_SIDE, one per 1/fps of the clip's time: a frame held
        longer (variable frame rate) repeats, frames faster than MAX_FPS are skipped."""
        yielded = 0
        for image in on_a_clock(self._timed_frames(), 1 / self.fps):
            yielded += 1
            # the one length check while decoding: it also stops a long pause (variable frame rate)
            if yielded / self.fps > self.max_seconds + 1 / self.fps:
                raise VideoError(too_long(yielded / self.fps, self.max_seconds))
            yield image
        if yielded < 2:
            raise VideoError(STILL if yielded else "The video has no frames the app can decode (truncated?). "
                             "Please upload another.")

    def _timed_frames(self) -> Iterator[tuple[float, Image.Image]]:
        decoding, start, previous = 0.0, None, -1 / self.fps
        try:
            with av.open(str(self.path)) as container:
                stream = container.streams.video[0]
                frames = container.decode(stream)
                while True:
                    began = time.perf_counter()
                    frame = next(frames, None)
                    decoding += time.perf_counter() - began
                    if frame is None:
                        return
                    if decoding > MAX_DECODE_SECONDS:
                        raise VideoError(f"Decoding this video took over {MAX_DECODE_SECONDS} s. Please upload "
                                         "a shorter or smaller clip.")
                    # a raw stream has no timestamps: its frames are 1/fps apart
                    seconds = frame.time if frame.time is not None else previous + 1 / self.fps
                    start, previous = seconds if start is None else start, seconds
                    yield seconds - start, upright(frame)
        except VideoError:
            raise
        except (av.error.InvalidDataError, av.error.EOFError, UnicodeDecodeError):
            raise VideoError(NOT_A_VIDEO) from None
        except (av.error.FFmpegError, ValueError):
            raise VideoError(DAMAGED) from None


def on_a_clock(timed: Iterable[tuple[float, Image.Image]], step: float) -> Iterator[Image.Image]:
    """At each tick k·step, the latest frame whose time is not after it (times in decode order)."""
    tick, last, last_seconds = 0.0, None, 0.0
    for seconds, image in timed:
        while last is not None and tick < seconds - 1e-6:
            yield last
            tick += step
        last, last_seconds = image, seconds
    if last is not None and last_seconds > tick - 1e-6:  # else a faster clip's last frame falls between ticks
        yield last


def upright(frame) -> Image.Image:
    """RGB, turned as the file's display matrix says (phones store portrait video sideways), at most MAX_SIDE."""
    image = frame.to_image()
    if frame.rotation % 360:
        image = image.rotate(frame.rotation, expand=True)  # both counter-clockwise degrees
    return shrink(image)


def open_clip(path, max_seconds: float = MAX_SECONDS, max_bytes: int = MAX_BYTES) -> Clip:
    """Check everything that can be checked before decoding; VideoError says what is wrong."""
    path = Path(path) if path is not None else None
    if path is None or not path.is_file():
        raise VideoError("Please upload a video first (MP4, WebM, MOV, …).")
    size = path.stat().st_size
    if size == 0:
        raise VideoError("The video file is empty.")
    if size > max_bytes:
        raise VideoError(f"The video is {size / 1e6:.0f} MB; the limit is {max_bytes / 1e6:.0f} MB. "
                         "Please upload a shorter or smaller clip.")
    try:
        with av.open(str(path)) as container:
            return checked_clip(path, container, max_seconds)
    except VideoError:
        raise
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError):
        raise VideoError(NOT_A_VIDEO) from None


def checked_clip(path: Path, container, max_seconds: float) -> Clip:
    if not container.streams.video:
        raise VideoError("This file has no video track (audio only?). Please upload a video.")
    if container.format.name == "image2" or container.format.name.endswith("_pipe"):
        raise VideoError(STILL)
    stream = container.streams.video[0]
    width, height = stream.codec_context.width, stream.codec_context.height
    if width * height > MAX_SOURCE_PIXELS:
        raise VideoError(f"The video's frames are {width}×{height}; the limit is "
                         f"{MAX_SOURCE_PIXELS / 1e6:.1f} megapixels. Please upload a smaller clip.")
    rate = stream.average_rate or stream.guessed_rate or 25
    fps = min(float(rate), MAX_FPS)
    declared = (float(stream.duration * stream.time_base) if stream.duration
                else container.duration / 1e6 if container.duration else None)
    if declared is not None and declared > max_seconds:
        raise VideoError(too_long(declared, max_seconds))
    return Clip(path, fps, declared, max_seconds)


def read_video(path, max_seconds: float = MAX_SECONDS, max_bytes: int = MAX_BYTES):
    """(every frame as an RGB PIL image, frames per second): for short clips and the tests."""
    clip = open_clip(path, max_seconds, max_bytes)
    return list(clip.frames()), clip.fps


def too_long(seconds: float, limit: float) -> str:
    return f"The video is {seconds:.1f} s long; the limit is {limit:g} s. Please upload a shorter clip."


def shrink(image: Image.Image, max_side: int = MAX_SIDE) -> Image.Image:
    """RGB at most max_side on its longer side: a clip's frames, the camera's."""
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    return image.convert("RGB")


def write_video(frames: Iterable, fps: float, path) -> Path:
    """H.264 MP4 (yuv420p, so browsers play it) of equal-sized RGB frames, encoded as they come
    (any iterable: a generator keeps one frame in memory), under a temporary name and renamed:
    a failed encode, or a VideoError raised by the frames, leaves nothing behind."""

    def encode(tmp):
        with av.open(str(tmp), mode="w", format="mp4") as container:  # format: tmp has no .mp4 suffix
            stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": "23", "preset": "veryfast"}
            for index, image in enumerate(frames):
                if index == 0:  # 4:2:0 needs even sides
                    first = np.asarray(image).shape[:2]
                    stream.height, stream.width = first[0] // 2 * 2, first[1] // 2 * 2
                array = np.asarray(image)
                if array.shape[:2] != first:  # a stream that changes resolution mid-way: keep the first size
                    array = np.asarray(Image.fromarray(array).resize((first[1], first[0]), Image.Resampling.BILINEAR))
                array = np.ascontiguousarray(array[:stream.height, :stream.width])
                for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)

    atomic_write(path, encode)
    return Path(path)


def synthetic_clip(path, seconds: float = 2.0, fps: int = 10, size=(160, 120)) -> Path:
    """A clip whose bright square drifts across a dark frame: for tests and the bench."""
    width, height = size
    frames = []
    for i in range(int(seconds * fps)):
        frame = np.full((height, width, 3), 30, np.uint8)
        left = int(i / (seconds * fps) * (width - height // 2))
        frame[height // 4:height // 4 + height // 2, left:left + height // 2] = (230, 180, 120)
        frames.append(frame)
    return write_video(frames, fps, path)
