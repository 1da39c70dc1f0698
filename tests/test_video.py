"""Every kind of clip a visitor can send: each one read right or refused with a message, and the
checks that bound memory and time made before decoding. Fixtures are made here with PyAV."""

from __future__ import annotations

import functools
from fractions import Fraction

import av
import numpy as np
import pytest
from gradio import Error as GradioError
from PIL import Image

from seg.serve import video
from seg.serve.models import Models
from seg.serve.video import VideoError, open_clip, read_video
from seg.tabs import live
from seg.tabs.live import LiveTab


def encode(path, count=5, fps=10, size=(64, 48), codec="libx264", pix_fmt="yuv420p", fmt=None, rotation=None,
           times=None):
    """A clip of `count` frames, frame i grey level 40·i with a white strip on its left; `times`:
    each frame's own time in seconds (variable frame rate)."""
    width, height = size
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if times is not None:
            stream.time_base = Fraction(1, 1000)
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i in range(count):
            array = np.full((height, width, 3), 40 * i % 256, np.uint8)
            array[:, :width // 4] = 255
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            if times is not None:
                frame.pts, frame.time_base = round(times[i] * 1000), Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def grey(image: Image.Image) -> float:
    """The level of the frame's right half (the strip is on the left)."""
    array = np.asarray(image)
    return float(array[:, array.shape[1] // 2:].mean())


@pytest.mark.parametrize("codec, pix_fmt, suffix", [
    ("ffv1", "gray", "mkv"), ("ffv1", "yuv444p10le", "mkv"), ("ffv1", "gbrp16le", "mkv"), ("ffv1", "bgr0", "mkv"),
    ("png", "rgba", "mov"), ("png", "gray16be", "mov"), ("libx264", "yuv444p", "mp4"),
])
def test_odd_pixel_formats_come_out_as_rgb_frames(tmp_path, codec, pix_fmt, suffix):
    frames, fps = read_video(encode(tmp_path / f"clip.{suffix}", codec=codec, pix_fmt=pix_fmt))
    assert fps == 10 and len(frames) == 5
    assert all(f.mode == "RGB" and f.size == (64, 48) for f in frames)
    assert [grey(f) for f in frames] == pytest.approx([0, 40, 80, 120, 160], abs=3)


def test_a_phone_clip_stored_sideways_comes_out_upright(tmp_path):
    frames, _ = read_video(encode(tmp_path / "phone.mp4", rotation=90))  # 90° counter-clockwise to display
    array = np.asarray(frames[0]).mean(axis=2)
    assert frames[0].size == (48, 64)  # portrait
    assert array[-8:].mean() > 200 and array[:40].mean() < 60  # the left strip turned to the bottom


def test_variable_frame_rate_keeps_the_clips_own_time(tmp_path):
    times = [0.0, 0.1, 0.2, 0.6, 0.7]  # a 0.4 s pause after the third frame
    clip = open_clip(encode(tmp_path / "vfr.mp4", times=times))
    frames = list(clip.frames())
    assert len(frames) == round(0.7 * clip.fps) + 1  # the pause lasts as long as it did
    levels = [round(grey(f) / 40) for f in frames]
    assert levels == sorted(levels) and set(levels) == {0, 1, 2, 3, 4}  # every frame, in order, once or held


def test_a_fast_clip_is_sampled_down_on_a_constant_clock(tmp_path):
    clip = open_clip(encode(tmp_path / "fast.mp4", count=60, fps=60))
    frames = list(clip.frames())
    assert clip.fps == video.MAX_FPS and len(frames) == 30


def test_a_long_clip_without_a_declared_length_is_stopped_while_decoding(tmp_path):
    raw = encode(tmp_path / "clip.h264", count=40, fmt="h264")  # no container: no duration, no timestamps
    assert open_clip(raw).declared_seconds is None
    with pytest.raises(VideoError, match="long; the limit is 1 s"):
        read_video(raw, max_seconds=1)


@pytest.mark.parametrize("make, message", [
    (lambda p: audio_only(p / "song.m4a"), "no video track"),
    (lambda p: gif(p / "still.gif", 1), "still image"),
    (lambda p: (p / "photo.mp4").write_bytes(png_bytes()) and p / "photo.mp4", "still image"),
    (lambda p: (p / "notes.mp4").write_text("a shopping list\n" * 50) and p / "notes.mp4", "not a video"),
])
def test_files_that_are_not_clips_are_named(tmp_path, make, message):
    with pytest.raises(VideoError, match=message):
        read_video(make(tmp_path))


def test_an_animated_gif_is_a_clip(tmp_path):
    frames, fps = read_video(gif(tmp_path / "moving.gif", 4))
    assert len(frames) == 4 and fps == 10


def test_frames_too_large_are_refused_before_any_decoding(tmp_path, monkeypatch):
    clip = encode(tmp_path / "big.mp4")
    monkeypatch.setattr(video, "MAX_SOURCE_PIXELS", 64 * 47)
    monkeypatch.setattr(video.Clip, "frames", lambda self: pytest.fail("decoded"))
    with pytest.raises(VideoError, match="frames are 64×48; the limit is"):
        open_clip(clip)


def test_decoding_that_takes_too_long_is_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(video, "MAX_DECODE_SECONDS", -1)
    with pytest.raises(VideoError, match="Decoding this video took over"):
        read_video(encode(tmp_path / "clip.mp4"))


@pytest.fixture(scope="module")
def tab(tiny_checkpoints):
    return LiveTab(Models(tiny_checkpoints))


def test_a_clip_that_fails_half_way_leaves_no_file_and_the_next_clip_races(tab, tmp_path, monkeypatch):
    # A 1 s limit: a raw stream declares no length, so the race stops half-way at the limit, as at 20 s.
    monkeypatch.setattr(live, "open_clip", functools.partial(open_clip, max_seconds=1))
    raw = encode(tmp_path / "long.h264", count=25 * 2, size=(32, 32), fmt="h264")
    before = set(tab.output_dir.root.rglob("*"))
    with pytest.raises(GradioError, match="the limit is 1 s"):
        tab.race_video(str(raw), progress=lambda *a, **k: None)
    assert set(tab.output_dir.root.rglob("*")) - before <= {p for p in tab.output_dir.root.rglob("*") if p.is_dir()}
    out, _, summary = tab.race_video(str(encode(tmp_path / "ok.mp4", rotation=90)), progress=lambda *a, **k: None)
    frames, _ = read_video(out)
    assert len(frames) == 5 and "5 frames at 10 frames/s" in summary
    assert frames[0].size[1] > frames[0].size[0] / 2  # two portrait panels side by side


def audio_only(path):
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=44100)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 44100
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    return path


def gif(path, count):
    frames = [Image.new("RGB", (64, 48), (60 * i, 0, 0)) for i in range(count)]
    frames[0].save(path, save_all=count > 1, append_images=frames[1:], duration=100, loop=0)
    return path


def png_bytes() -> bytes:
    from io import BytesIO

    buffer = BytesIO()
    Image.new("RGB", (32, 32), "white").save(buffer, format="PNG")
    return buffer.getvalue()
