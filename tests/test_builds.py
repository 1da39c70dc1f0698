"""On-request builds: callers asking for the same file at once share one build."""

from __future__ import annotations

import threading

import pytest

from seg.deploy import export as exporting
from seg.deploy.export import Target, ensure_export

pytestmark = pytest.mark.slow  # three exports at once
pytest.importorskip("onnxruntime")


def test_two_callers_asking_for_the_same_file_build_it_once(tiny_checkpoints, tmp_path, monkeypatch):
    builds, real_export = [], exporting.export

    def counted(*args, **kwargs):
        builds.append(args[0])
        return real_export(*args, **kwargs)

    monkeypatch.setattr(exporting, "export", counted)
    target, cards = Target("segnet_dsc", "onnx"), []
    callers = [threading.Thread(target=lambda: cards.append(ensure_export(target, tmp_path, tiny_checkpoints)))
               for _ in range(3)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    assert builds == [target] and len(cards) == 3 and cards[0] == cards[1] == cards[2]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "segnet_dsc.onnx", "segnet_dsc.onnx.json"]  # and the lock file, hidden
