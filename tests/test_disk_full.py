"""A full disk (or a quota, or a read-only folder) answers with a message, and the next request
works once space is back: the write failure is injected where each handler writes its files."""

from __future__ import annotations

import errno

import numpy as np
import pytest
from gradio import Error as GradioError
from PIL import Image

from seg.serve import outputs
from seg.serve.models import Models
from seg.serve.video import synthetic_clip
from seg.tabs import live as live_tab
from seg.tabs.common import DISK_FULL
from seg.tabs.live import LiveTab
from seg.tabs.segment import SegmentTab


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture(scope="module")
def models(tiny_checkpoints):
    return Models(tiny_checkpoints)


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)).save(path)
    return str(path)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EROFS])
def test_segment_says_the_disk_is_full_then_works_again(models, photo, monkeypatch, code):
    tab = SegmentTab(models)
    with monkeypatch.context() as patch:
        patch.setattr(outputs.Image.Image, "save", lambda *a, **k: (_ for _ in ()).throw(OSError(code, "full")))
        with pytest.raises(GradioError, match="no disk space left"):
            tab.segment_outputs(photo)
    assert tab.segment(photo).summary["models"]


def test_another_os_error_is_not_called_a_full_disk(models, photo, monkeypatch):
    monkeypatch.setattr(outputs.Image.Image, "save", lambda *a, **k: (_ for _ in ()).throw(OSError(errno.EIO, "io")))
    with pytest.raises(OSError, match="io"):
        SegmentTab(models).segment_outputs(photo)


def test_a_clip_race_says_the_disk_is_full_then_works_again(models, tmp_path, monkeypatch):
    tab, clip = LiveTab(models), synthetic_clip(tmp_path / "clip.mp4", seconds=1, fps=5, size=(64, 48))
    with monkeypatch.context() as patch:
        patch.setattr(live_tab, "write_video", no_space)
        with pytest.raises(GradioError, match="no disk space left") as caught:
            tab.race_video(str(clip), progress=lambda *a, **k: None)
    assert str(caught.value.message) == DISK_FULL
    assert "5 frames" in tab.race_video(str(clip), progress=lambda *a, **k: None)[2]


def test_a_killed_apps_output_folders_go_when_the_next_app_starts(tmp_path, monkeypatch):
    import subprocess
    import sys
    import tempfile

    from seg.serve.outputs import PREFIX, OutputDir

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = tmp_path / f"{PREFIX}{dead.stdout.strip()}-abc"
    (killed / "request").mkdir(parents=True)
    (killed / "request" / "overlay.jpg").write_bytes(b"x")
    running = tmp_path / f"{PREFIX}1-abc"  # pid 1 is always there
    running.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    fresh = OutputDir()
    assert not killed.exists() and running.exists() and fresh.root.exists()


def test_a_deploy_build_on_a_full_disk_says_so(tiny_checkpoints, tmp_path, monkeypatch):
    from seg.deploy import lowering
    from seg.tabs.deploy import DeployTab

    monkeypatch.setattr(lowering, "write", no_space)
    with pytest.raises(GradioError, match="no disk space left"):
        DeployTab(tiny_checkpoints, tmp_path / "exports").build("segnet_dsc", "onnx", False)
    assert not (tmp_path / "exports" / "segnet_dsc.onnx").exists()
