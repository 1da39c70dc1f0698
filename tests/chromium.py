"""Debian's Chromium for the browser tests: where it is, and how it is started (headless, offline
of everything but the app, a fake camera that plays a test pattern)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
NO_CAMERA = [f for f in FLAGS if "fake-device" not in f]  # no camera at all
NO_PROMPT_ANSWER = [f for f in FLAGS if "fake-ui" not in f]  # a camera, but nobody grants it


def need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed: apt-get install chromium (.ci/run does)")
