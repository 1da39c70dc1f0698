"""The Live tab's race: webcam frames and clips through both models, without a browser."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import logits_of
from gradio import Error as GradioError
from PIL import Image

from seg.serve.models import Models
from seg.serve.race import CAMERA_FPS, FREE_RUNNING, SAME_FRAMES, Race, step
from seg.serve.video import read_video, synthetic_clip
from seg.tabs.live import LiveTab


class KnownModels:
    """Model runs with known milliseconds: regular 100 ms, DSC 20 ms per frame."""

    MS = {"segnet_regular": 100.0, "segnet_dsc": 20.0}

    def __init__(self):
        self.calls = []

    def segment(self, frame, names):
        self.calls.append(list(names))
        return {n: {"mask": torch.zeros(8, 8, dtype=torch.uint8), "logits": logits_of(np.zeros((8, 8))), "ms": self.MS[n]}
                for n in names}


@pytest.fixture(scope="module")
def tab(tiny_checkpoints):
    return LiveTab(Models(tiny_checkpoints))


def frames_every(race, models, seconds: float, count: int):
    for i in range(count):
        step(models, Image.new("RGB", (32, 24)), race, 10.0 + i * seconds)
    return race


def test_same_frames_runs_both_on_every_frame_and_rates_each_alone():
    models = KnownModels()
    race = frames_every(Race(SAME_FRAMES), models, 0.05, 10)
    assert models.calls == [["segnet_regular", "segnet_dsc"]] * 10
    regular, dsc = race.lanes.values()
    assert (regular.taken, dsc.taken, regular.dropped, dsc.dropped) == (10, 10, 0, 0)
    assert regular.fps(race.elapsed_s, race.mode) == pytest.approx(10.0)  # 1000 / 100 ms
    assert dsc.fps(race.elapsed_s, race.mode) == pytest.approx(50.0)


def test_as_fast_as_it_can_the_slower_model_drops_frames():
    models = KnownModels()
    race = frames_every(Race(FREE_RUNNING), models, 0.05, 11)  # a frame every 50 ms for 0.5 s
    regular, dsc = race.lanes.values()
    assert dsc.taken == 11 and dsc.dropped == 0  # 20 ms: free for every frame
    assert regular.taken == 6 and regular.dropped == 5  # 100 ms: every other frame
    assert regular.fps(race.elapsed_s, race.mode) == pytest.approx(12.0)  # 6 frames in 0.5 s
    assert models.calls[:2] == [["segnet_regular", "segnet_dsc"], ["segnet_dsc"]]


def test_the_live_handler_keeps_one_race_per_mode_and_skips_empty_frames(tab):
    frame = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    regular, dsc, readout, race = tab.live(frame, SAME_FRAMES, None)
    assert regular.shape == dsc.shape == (480, 640, 3)  # at most LIVE_MAX_SIDE wide, the frame's shape
    assert "frames/s" in readout and race.lanes["segnet_dsc"].taken == 1
    again = tab.live(frame, SAME_FRAMES, race)[3]
    assert again is race and race.lanes["segnet_dsc"].taken == 2
    assert race.now == 1 / CAMERA_FPS  # frames are stamped on the camera's clock, not the wall's
    assert tab.live(frame, FREE_RUNNING, race)[3].mode == FREE_RUNNING  # a new race for the new mode
    assert tab.live(None, SAME_FRAMES, race)[3] is race


@pytest.mark.parametrize("mode", [SAME_FRAMES, FREE_RUNNING])
def test_a_stream_of_malformed_and_resized_frames_is_skipped_or_taken_and_leaves_no_thread(tab, mode):
    import threading

    rng = np.random.default_rng(1)
    threads = threading.active_count()
    bad = [np.zeros(5, np.uint8), np.zeros((0, 640, 3), np.uint8), np.zeros((40, 40, 7), np.uint8),
           np.array([[object()]]), np.zeros((5000, 5000, 4), np.uint8)]
    good = [rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), rng.integers(0, 255, (640, 480), dtype=np.uint8),
            rng.random((90, 120, 4)) * 255, rng.integers(0, 255, (33, 17, 1), dtype=np.uint8)]  # sizes change
    race = None
    for frame in bad[:2] + good[:2] + bad[2:] + good[2:]:
        regular, dsc, readout, race = tab.live(frame, mode, race)
        if any(frame is b for b in bad):
            assert "was skipped" in readout and regular == dsc == {"__type__": "update"}  # the last overlays stay
        else:
            assert "skipped" not in readout and (regular is None or regular.shape[:2] == np.asarray(frame).shape[:2])
    assert race.arrived == len(good) and threading.active_count() == threads


def test_a_two_second_clip_comes_back_side_by_side_with_every_frames_timings(tab, tmp_path):
    clip = synthetic_clip(tmp_path / "clip.mp4", seconds=2, fps=10, size=(96, 64))
    video, figure, summary = tab.race_video(str(clip), progress=lambda *a, **k: None)
    frames, fps = read_video(video)
    assert len(frames) == 20 and fps == 10
    width, height = frames[0].size
    assert width == 2 * 96 and height > 64  # the two overlays, captions above and a legend below
    assert [len(trace.y) for trace in figure.data] == [20, 20]
    assert "20 frames at 10 frames/s" in summary and "DSC SegNet" in summary


def test_a_bad_clip_is_a_message_and_nothing_is_written(tab, tmp_path):
    (tmp_path / "x.mp4").write_bytes(b"not a video at all" * 20)
    before = set(tab.output_dir.root.iterdir())
    with pytest.raises(GradioError, match="not a video"):
        tab.race_video(str(tmp_path / "x.mp4"), progress=lambda *a, **k: None)
    with pytest.raises(GradioError, match="upload a video first"):
        tab.race_video(None, progress=lambda *a, **k: None)
    assert set(tab.output_dir.root.iterdir()) == before
