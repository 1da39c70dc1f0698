"""On-request builds: callers asking for the same file at once share one build."""

from __future__ import annotations

import threading

import pytest
import torch

from seg.deploy import export as exporting
from seg.deploy.export import ensure_export
from seg.deploy.targets import ExportError, Target

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


KILLED_BUILD = """
import sys, time
from pathlib import Path
from seg.deploy import export, lowering
def half_a_file(target, model, size, out, calibration):
    Path(out).write_bytes(b"half an onnx file")
    print("writing", flush=True)
    time.sleep(600)
lowering.write = half_a_file
export.ensure_export(export.Target("segnet_dsc", "onnx"), Path(sys.argv[1]), Path(sys.argv[2]))
"""


def test_a_build_killed_half_way_leaves_nothing_served_and_the_next_build_is_clean(tiny_checkpoints, tmp_path):
    import subprocess
    import sys

    from conftest import ROOT

    out = tmp_path / "exports"
    killed = subprocess.Popen([sys.executable, "-c", KILLED_BUILD, str(out), str(tiny_checkpoints)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    assert killed.stdout.readline().strip() == "writing"
    killed.kill()  # SIGKILL mid-write: no handler runs
    killed.wait()
    assert [p.name for p in out.iterdir() if not p.name.startswith(".")] == [] and len(list(out.glob(".*.tmp"))) == 1
    card = ensure_export(Target("segnet_dsc", "onnx"), out, tiny_checkpoints)  # as the restarted app would
    assert card["verification"]["pixel_agreement"] >= 0.999
    assert list(out.glob(".*.tmp")) == []  # the killed build's half file was swept


def test_the_eager_reference_is_computed_once_for_the_same_weights_and_images(monkeypatch):
    """A model's ONNX, .pte and int8 builds are verified against one eager run of its images."""
    monkeypatch.setattr(exporting, "_references", {})
    calls = []

    class Doubling(torch.nn.Module):
        def forward(self, x):
            calls.append(len(x))
            return x * 2

    images = torch.rand(3, 3, 8, 8)
    first = exporting.eager_logits(Doubling(), "weights-a", images)
    assert torch.equal(first, images * 2) and calls == [1, 1, 1]  # image by image, as the file runs
    assert exporting.eager_logits(Doubling(), "weights-a", images.clone()) is first and len(calls) == 3
    exporting.eager_logits(Doubling(), "weights-b", images)  # other weights
    exporting.eager_logits(Doubling(), "weights-a", images + 1)  # other images
    assert len(calls) == 9
    for other in range(exporting.REFERENCES_KEPT):
        exporting.eager_logits(Doubling(), f"weights-{other}", images)
    assert len(exporting._references) == exporting.REFERENCES_KEPT  # bounded: the oldest went first
    exporting.eager_logits(Doubling(), "weights-a", images)
    assert len(calls) == 9 + 3 * (exporting.REFERENCES_KEPT + 1)


def test_an_int8_onnx_is_quantized_from_the_fp32_file_of_the_same_weights(tmp_path, data_root, monkeypatch):
    from conftest import write_tiny_checkpoints

    from seg.deploy import lowering

    checkpoints, out = write_tiny_checkpoints(tmp_path / "ck"), tmp_path / "exports"
    fresh = exporting.export(Target("segnet_dsc", "onnx", int8=True), tmp_path / "alone", checkpoints, data_root)
    ensure_export(Target("segnet_dsc", "onnx"), out, checkpoints, data_root)
    exported = []

    def export_model(target, *args):
        exported.append(target)
        raise RuntimeError("the model was exported again")

    monkeypatch.setattr(lowering, "write", export_model)
    card = exporting.export(Target("segnet_dsc", "onnx", int8=True), out, checkpoints, data_root)
    assert not exported and card["verification"] == fresh["verification"]
    assert (out / card["file"]).read_bytes() == (tmp_path / "alone" / fresh["file"]).read_bytes()  # the same file
    fp32_card = Target("segnet_dsc", "onnx").card(out)
    fp32_card.write_text(fp32_card.read_text().replace(card["source"]["sha256"], "0" * 64))  # other weights'
    with pytest.raises(ExportError, match="exported again"):
        exporting.export(Target("segnet_dsc", "onnx", int8=True), out, checkpoints, data_root)
    assert exported == [Target("segnet_dsc", "onnx", int8=True)]
