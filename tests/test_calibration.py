"""int8 ONNX files build where the dataset is absent (a Space): from activation ranges measured once
with the dataset and kept beside the checkpoint, for those weights only."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import ROOT

from seg.deploy.calibration import stored_ranges, table_path
from seg.deploy.export import export, sha256
from seg.deploy.targets import ExportError, Target
from seg.model.checkpoint import paths
from seg.model.variants import VARIANTS

pytest.importorskip("onnxruntime")
INT8_ONNX = Target("segnet_dsc", "onnx", int8=True)


@pytest.fixture
def checkpoints(tiny_checkpoints, tmp_path):
    """The tiny checkpoints in a folder of the test's own (their tables are written there)."""
    return shutil.copytree(tiny_checkpoints, tmp_path / "checkpoints")


@pytest.mark.slow
def test_int8_onnx_builds_without_the_dataset_from_the_ranges_measured_with_it(checkpoints, data_root, tmp_path):
    measured = export(INT8_ONNX, tmp_path / "with-data", checkpoints, data_root=data_root)
    assert "ranges measured now" in measured["calibration"]
    weights = paths(checkpoints, "segnet_dsc")["weights"]
    table = json.loads(table_path(checkpoints, "segnet_dsc").read_text())
    assert table["checkpoint_sha256"] == sha256(weights) and table["measured_on"] == "64 trainval images"

    stored = export(INT8_ONNX, tmp_path / "no-data", checkpoints, data_root=tmp_path / "absent")
    assert "ranges stored with the checkpoint" in stored["calibration"]
    assert stored["calibration"].startswith("64 trainval images")
    assert (tmp_path / "no-data" / stored["file"]).read_bytes() == (tmp_path / "with-data" / measured["file"]).read_bytes()


def test_ranges_stored_for_other_weights_are_not_used(checkpoints, tmp_path):
    weights = paths(checkpoints, "segnet_dsc")["weights"]
    table_path(checkpoints, "segnet_dsc").write_text(json.dumps({"checkpoint_sha256": "0" * 64, "ranges": {}}))
    assert stored_ranges(checkpoints, "segnet_dsc", sha256(weights)) is None
    with pytest.raises(ExportError, match="int8 needs trainval images to calibrate on"):
        export(INT8_ONNX, tmp_path / "out", checkpoints, data_root=tmp_path / "absent")
    assert not (tmp_path / "out" / "segnet_dsc-int8.onnx").exists()


def test_an_unreadable_table_is_ignored(checkpoints):
    table_path(checkpoints, "segnet_dsc").write_text("{not json")
    assert stored_ranges(checkpoints, "segnet_dsc", "any") is None


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_shipped_checkpoint_carries_its_own_ranges(name):
    """Retraining changes the weights: `python -m seg.export --model NAME --format onnx --int8` with
    the dataset present measures the new ranges and rewrites the table."""
    weights = paths(ROOT / "checkpoints", name)["weights"]
    if not weights.exists():
        pytest.skip(f"{name} is not shipped")
    assert stored_ranges(ROOT / "checkpoints", name, sha256(weights)) is not None
