"""Video in and out through PyAV (FFmpeg in the wheel, nothing fetched at run time), with the
limits and messages an uploaded clip needs."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from seg.files import atomic_write

MAX_SECONDS = 20  # a clip, not a film: both models run on every frame
MAX_BYTES = 10_000_000  # the app's upload limit (SEG_MAX_UPLOAD) is 10 MB too
MAX_SIDE = 1280  # frames are downscaled to this before any work


class VideoError(ValueError):
    """A message for the person who gave the file."""


def read_video(path, max_seconds: float = MAX_SECONDS, max_bytes: int = MAX_BYTES):
    """(frames as RGB PIL images, frames per second) of a clip's video track."""
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
            if not container.streams.video:
                raise VideoError("This file has no video track. Please upload a video.")
            if container.format.name == "image2" or container.format.name.endswith("_pipe"):
                raise VideoError("This is a still image, not a video: use the Segment tab for photos.")
            stream = container.streams.video[0]
            fps = float(stream.average_rate or stream.guessed_rate or 25)
            declared = float(stream.duration * stream.time_base) if stream.duration else None
            if declared is not None and declared > max_seconds:
                raise VideoError(too_long(declared, max_seconds))
            frames = []
            for frame in container.decode(stream):
                frames.append(shrink(frame.to_image()))
                if len(frames) / fps > max_seconds:
                    raise VideoError(too_long(len(frames) / fps, max_seconds))
    except VideoError:
        raise
    except (av.error.InvalidDataError, av.error.EOFError, UnicodeDecodeError):
        raise VideoError("This file is not a video the app can read, or it is damaged. "
                         "Please upload an MP4, WebM or MOV clip.") from None
    except av.error.FFmpegError:
        raise VideoError("The video is truncated or damaged and cannot be decoded. Please upload another.") from None
    if not frames:
        raise VideoError("The video has no frames the app can decode (truncated?). Please upload another.")
    return frames, fps


def too_long(seconds: float, limit: float) -> str:
    return f"The video is {seconds:.1f} s long; the limit is {limit:g} s. Please upload a shorter clip."


def shrink(image: Image.Image) -> Image.Image:
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BILINEAR)
    return image.convert("RGB")


def write_video(frames, fps: float, path) -> Path:
    """H.264 MP4 (yuv420p, so browsers play it) of equal-sized RGB frames, written under a
    temporary name and renamed: a failed encode leaves nothing behind."""

    def encode(tmp):
        with av.open(str(tmp), mode="w", format="mp4") as container:  # format: tmp has no .mp4 suffix
            stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
            first = np.asarray(frames[0])
            stream.height, stream.width = first.shape[0] // 2 * 2, first.shape[1] // 2 * 2  # 4:2:0 needs even sides
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": "23", "preset": "veryfast"}
            for image in frames:
                array = np.ascontiguousarray(np.asarray(image)[:stream.height, :stream.width])
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
