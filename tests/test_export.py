"""Exported files give eager's masks, int8 stays close, bad requests get one line and exit 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import torch
from conftest import ROOT

from seg.deploy.export import VERIFY_IMAGES, ensure_export, export
from seg.deploy.runtimes import score_file
from seg.deploy.targets import ExportError, Target, check_target
from seg.model.factory import create_model

pytestmark = pytest.mark.slow
pytest.importorskip("onnxruntime")
pytest.importorskip("executorch")

FORMATS = ["onnx", "pte"]


@pytest.fixture(scope="module")
def out_dir(export_dir):
    return export_dir


@pytest.fixture(scope="module")
def test_images(data_root):
    from seg.data.splits import load_cached_split

    images, masks, _ = load_cached_split(data_root, "test", 128, ROOT / ".cache", limit=VERIFY_IMAGES)
    return images, masks


# Both nets as ONNX (the page runs them), the DSC as a .pte: the regular net's .pte (14 s of
# lowering more, on 2 cores) is built by the same code and verified at every build, and measured by
# `python -m tools.bench_deploy`.
@pytest.mark.parametrize("name, fmt", [("segnet_regular", "onnx"), ("segnet_dsc", "onnx"), ("segnet_dsc", "pte")])
def test_fp32_files_agree_with_eager_on_real_test_images(name, fmt, out_dir, data_root):
    card = ensure_export(Target(name, fmt), out_dir, data_root=data_root)  # built here or by the browser tests
    assert card["verification"]["on"] == f"{VERIFY_IMAGES} test images"
    assert card["verification"]["pixel_agreement"] >= 0.999
    file = out_dir / card["file"]
    assert card["bytes"] == file.stat().st_size and not list(out_dir.glob("*.data"))  # self-contained
    assert json.loads((out_dir / f"{card['file']}.json").read_text()) == card
    assert card["params"] > 0 and len(card["source"]["sha256"]) == 64
    if fmt == "pte":
        assert 0 < card["delegated"]["fraction"] <= 1


def test_int8_dsc_program_is_small_and_within_two_points_of_fp32(out_dir, data_root, test_images):
    fp32 = out_dir / ensure_export(Target("segnet_dsc", "pte"), out_dir, data_root=data_root)["file"]
    card = export(Target("segnet_dsc", "pte", int8=True), out_dir, data_root=data_root)
    assert card["bytes"] <= 2 * 1024 * 1024
    accuracy = {f: score_file(f, *test_images)["pixel_accuracy"] for f in (fp32, out_dir / card["file"])}
    assert accuracy[fp32] - accuracy[out_dir / card["file"]] <= 0.02


def test_the_edge_unpooling_exports_to_onnx_with_the_same_masks(out_dir, data_root):
    card = export(Target("segnet_dsc", "onnx", unpool="edge"), out_dir, data_root=data_root)
    assert card["verification"]["pixel_agreement"] >= 0.999 and card["unpool"] == "edge"


def test_a_file_whose_masks_differ_from_pytorch_is_not_kept(tiny_checkpoints, tmp_path, monkeypatch):
    from seg.deploy import lowering

    real_write = lowering.write

    class ClassesRotated(torch.nn.Module):  # pet scored as background, background as border...
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, x):
            return self.model(x).roll(1, dims=1)

    def write_another_model(target, model, size, path, calibration=None):
        return real_write(target, ClassesRotated(model), size, path, calibration)

    monkeypatch.setattr(lowering, "write", write_another_model)
    folder = tmp_path / "wrong"
    no_data = tmp_path / "no-data"  # verified on the sample photo: 16,384 pixels are plenty here
    with pytest.raises(ExportError, match="masks differ from PyTorch's on .* of pixels .*: not kept"):
        export(Target("segnet_dsc", "onnx"), folder, tiny_checkpoints, data_root=no_data)
    assert not (folder / "segnet_dsc.onnx").exists() and not (folder / "segnet_dsc.onnx.json").exists()


def test_the_deploy_docs_snippets_run_on_the_exported_files(out_dir, data_root, monkeypatch):
    for fmt in FORMATS:
        ensure_export(Target("segnet_dsc", fmt), out_dir, data_root=data_root)
    snippets = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "deploy.md").read_text(), re.S)
    assert len(snippets) == 2
    monkeypatch.chdir(ROOT)  # where a reader runs them: paths relative to the repository
    for code in snippets:
        names = {"__name__": "__main__"}  # nothing defined but what the snippet imports and makes
        exec(compile(code.replace('"exports/', f'"{out_dir}/'), "docs/deploy.md", "exec"), names)
        assert names["mask"].shape == (128, 128) and set(names["mask"].flatten().tolist()) <= {0, 1, 2}


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "seg.export", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("args, message", [
    (["--model", "segnet_huge", "--format", "onnx"], "unknown model 'segnet_huge': choose one of"),
    (["--model", "segnet_dsc", "--format", "tflite"], "unknown format 'tflite': choose one of"),
    (["--model", "segnet_dsc", "--format", "pte", "--unpool", "bilinear"], "unknown unpool 'bilinear'"),
    (["--format", "onnx"], "the following arguments are required: --model"),
])
def test_bad_requests_get_one_line_and_exit_2(args, message, tmp_path):
    run = cli(*args, "--out", str(tmp_path))
    assert run.returncode == 2 and message in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def one_line_in_process(capsys, *args) -> str:
    """`python -m seg.export ARGS` run in this process (torch is already loaded here): exit 2, one line."""
    from seg.deploy.cli import main

    assert main(list(args)) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    return err


def test_a_missing_or_corrupt_checkpoint_gets_one_line(tmp_path, capsys):
    empty = tmp_path / "none"
    empty.mkdir()
    assert "segnet_dsc" in one_line_in_process(capsys, "--model", "segnet_dsc", "--format", "onnx", "--checkpoint-dir",
                                               str(empty), "--out", str(tmp_path / "o"))
    broken = tmp_path / "broken"
    broken.mkdir()
    for suffix in (".safetensors", ".json"):
        (broken / f"segnet_dsc{suffix}").write_bytes(b"not a checkpoint")
    # a process of its own: whatever torch or safetensors print on the way is in its one line too
    run = cli("--model", "segnet_dsc", "--format", "onnx", "--checkpoint-dir", str(broken),
              "--out", str(tmp_path / "o"))
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_an_output_folder_that_cannot_be_written_gets_one_line(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert "cannot write to" in one_line_in_process(capsys, "--model", "segnet_dsc", "--format", "onnx", "--out",
                                                    str(blocker / "exports"))


def test_a_failing_exporter_leaves_no_file_behind(tmp_path, monkeypatch):
    from seg.deploy import lowering

    def half_then_fail(target, model, size, path, calibration=None):
        path.write_bytes(b"half a file")
        raise RuntimeError("the exporter broke")

    monkeypatch.setattr(lowering, "write", half_then_fail)
    with pytest.raises(ExportError, match="the onnx export of segnet_dsc failed: RuntimeError: the exporter broke"):
        export(check_target("segnet_dsc", "onnx"), tmp_path)
    assert not list(tmp_path.iterdir())


def test_the_deploy_tab_builds_a_file_once_and_explains_a_failure(tiny_checkpoints, tmp_path):
    import gradio as gr

    from seg.tabs.deploy import DeployTab

    tab = DeployTab(tiny_checkpoints, tmp_path / "exports")
    path, card = tab.build("segnet_dsc", "onnx", False)
    assert path.endswith("segnet_dsc.onnx") and "Argmax agrees with PyTorch" in card
    built = (tmp_path / "exports" / "segnet_dsc.onnx").stat().st_ino  # a rebuild renames a new file over it
    assert tab.build("segnet_dsc", "onnx", False)[0] == path
    assert (tmp_path / "exports" / "segnet_dsc.onnx").stat().st_ino == built  # cached, not rebuilt
    broken = DeployTab(tmp_path / "no-checkpoints", tmp_path / "exports2")
    with pytest.raises(gr.Error, match="Could not build the file: .*segnet_dsc"):
        broken.build("segnet_dsc", "pte", False)


def test_a_batchnorm_becomes_the_affine_map_it_computes():
    """int8 .pte files are quantized from this copy (seg/deploy/lowering.py says why)."""
    from seg.deploy.lowering import ChannelAffine, batchnorms_as_affine

    torch.manual_seed(0)
    model = create_model("segnet_dsc").eval()
    for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2), bn.weight.data.uniform_(0.5, 2)
    affine = batchnorms_as_affine(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in affine.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())  # the model itself is left alone
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            features = torch.randn(2, bn.num_features, 8, 8)
            torch.testing.assert_close(ChannelAffine(bn)(features), bn(features), atol=1e-5, rtol=1e-5)
        # through the whole net float rounding adds up, but no further than this
        torch.testing.assert_close(affine(x), model(x), atol=1e-3, rtol=1e-3)
