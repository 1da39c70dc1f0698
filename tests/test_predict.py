"""python -m seg.predict and the video reader/writer behind it."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest
from conftest import ROOT
from PIL import Image

from seg.serve.models import Models
from seg.serve.predict import main as predict_main
from seg.serve.video import VideoError, read_video, synthetic_clip, write_video
from seg.tabs.segment import SegmentTab

SHIPPED = ROOT / "checkpoints"


@pytest.mark.slow  # the shipped models on every real photo
def test_predict_writes_the_masks_segment_returns_for_the_same_photos(photos, tmp_path):
    out = tmp_path / "masks"
    assert predict_main([str(photos), "--out", str(out), "--json"]) == 0
    tab = SegmentTab(Models(SHIPPED))
    pictures = sorted(p for p in photos.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    assert len(pictures) >= 6
    for photo in pictures:
        served = tab.segment(str(photo)).masks  # what /segment hands back
        for name, path in served.items():
            ours = Image.open(out / f"{photo.stem}.{name}.png")
            assert ours.mode == "P" and ours.size == Image.open(photo).size
            assert np.array_equal(np.asarray(ours), np.asarray(Image.open(path))), (photo.name, name)


def test_a_bad_file_is_reported_and_skipped_and_the_rest_is_written(tiny_checkpoints, tmp_path, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.new("RGB", (90, 60), (200, 120, 40)).save(inputs / "cat.jpg")
    (inputs / "notes.txt").write_text("not an image")
    (inputs / "broken.mp4").write_bytes(b"\x00" * 500)
    out = tmp_path / "out"
    code = predict_main([str(inputs), str(tmp_path / "absent.jpg"), "--out", str(out), "--json",
                         "--checkpoint-dir", str(tiny_checkpoints), "--model", "segnet_dsc"])
    assert code == 1
    report = json.loads(capsys.readouterr().out)
    errors = {f["input"].rsplit("/", 1)[1]: f.get("error") for f in report["files"]}
    assert errors["cat.jpg"] is None and "not an image" in errors["notes.txt"]
    assert "not a video the app can read" in errors["broken.mp4"] and "no such file" in errors["absent.jpg"]
    assert report["summary"]["failed"] == 3 and report["summary"]["models"]["segnet_dsc"]["images"] == 1
    assert sorted(p.name for p in out.iterdir()) == ["cat.segnet_dsc.png"]  # nothing partial, no temp files


def test_a_clip_gives_a_mask_per_frame_and_an_overlay_video(tiny_checkpoints, tmp_path, capsys):
    clip = synthetic_clip(tmp_path / "clip.mp4", seconds=2, fps=10, size=(96, 64))
    out = tmp_path / "out"
    assert predict_main([str(clip), "--out", str(out), "--overlays", "--checkpoint-dir", str(tiny_checkpoints)]) == 0
    assert "1 of 1 inputs segmented" in capsys.readouterr().out
    for name in ("segnet_regular", "segnet_dsc"):
        masks = sorted((out / f"clip.{name}").iterdir())
        assert len(masks) == 20 and Image.open(masks[0]).size == (96, 64)
        frames, fps = read_video(out / f"clip.{name}.mp4")
        assert len(frames) == 20 and fps == 10 and frames[0].size == (96, 64)


def test_video_limits_and_damage_have_messages(tmp_path):
    clip = synthetic_clip(tmp_path / "clip.mp4", seconds=2, fps=10)
    with pytest.raises(VideoError, match=r"2.0 s long; the limit is 1 s"):
        read_video(clip, max_seconds=1)
    with pytest.raises(VideoError, match="the limit is 0 MB"):
        read_video(clip, max_bytes=1000)
    data = clip.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[:len(data) // 2])
    with pytest.raises(VideoError, match="damaged"):
        read_video(tmp_path / "cut.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        read_video(tmp_path / "empty.mp4")
    Image.new("RGB", (8, 8)).save(tmp_path / "still.png")
    with pytest.raises(VideoError, match="still image, not a video"):
        read_video(tmp_path / "still.png")
    with pytest.raises(VideoError, match="upload a video first"):
        read_video(None)


def test_written_video_is_h264_with_every_frame(tmp_path):
    frames = [np.full((51, 77, 3), i * 10, np.uint8) for i in range(12)]  # odd sides are trimmed to even
    path = write_video(frames, 12, tmp_path / "out.mp4")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and (stream.width, stream.height) == (76, 50)
        assert sum(1 for _ in container.decode(stream)) == 12
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]  # no temp file left
