"""Chromium for the browser tests (tools/chromium.py), its variants without a camera, and the skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.chromium import CHROMIUM, FLAGS

__all__ = ["CHROMIUM", "FLAGS", "NO_CAMERA", "NO_PROMPT_ANSWER", "need_chromium"]
NO_CAMERA = [f for f in FLAGS if "fake-device" not in f]  # no camera at all
NO_PROMPT_ANSWER = [f for f in FLAGS if "fake-ui" not in f]  # a camera, but nobody grants it


def need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed: apt-get install chromium (.ci/run does)")
