"""train.py on a synthetic Oxford-layout dataset: smoke run, resume, checkpoints, errors."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from conftest import without_timing
from synthetic import make_oxford_layout

import train
from seg.model.checkpoint import CheckpointError, load_checkpoint, load_snapshots, paths, save_checkpoint, save_meta
from seg.model.factory import create_model
from seg.model.variants import VARIANTS
from seg.scoring.evaluate import main as evaluate_main
from seg.train import run as run_module
from seg.train.recipes import RECIPES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory):
    return make_oxford_layout(tmp_path_factory.mktemp("pets"), trainval=12, test=9)  # 10 train, 2 validation


def run_train(root, out, *extra):
    argv = ["--data-root", str(root), "--out", str(out), "--cache-dir", str(out / "cache"),
            "--size", "32", "--batch-size", "4", "--quiet", *extra]
    return train.main(train.get_args_parser().parse_args(argv))


@pytest.mark.parametrize("name", VARIANTS)
def test_one_epoch_smoke_run_writes_a_complete_checkpoint(synthetic_root, tmp_path, name):
    assert run_train(synthetic_root, tmp_path, "--model", name, "--epochs", "1") == 0
    p = paths(tmp_path, name)
    assert p["weights"].exists() and p["meta"].exists() and p["snapshots"].exists()
    assert not p["resume"].exists(), "a finished run leaves no resume state"
    meta = json.loads(p["meta"].read_text())
    for key in ("model", "kinds", "params", "mult_adds", "data", "recipe", "history", "final",
                "device", "wall_time_s", "torch_version", "git_commit", "snapshots"):
        assert key in meta, key
    assert meta["data"]["split_sizes"] == {"train": 10, "validation": 2}, "no test split without --test"
    assert meta["final"] is None
    assert meta["recipe"] == dataclasses.asdict(RECIPES["default"]) | {"epochs": 1, "batch_size": 4, "size": 32}
    assert meta["snapshots"]["image_ids"] == meta["data"]["validation"]["image_ids"]
    assert load_snapshots(p["weights"]).shape == (1, 2, 32, 32)
    assert load_snapshots(p["weights"], "sample").shape == (1, 32, 32)
    h = meta["history"][0]
    assert 0 <= h["val_pixel_accuracy"] <= 1 and set(h["val_iou"]) == {"pet", "background", "border"}


@pytest.mark.parametrize("name", VARIANTS)
def test_checkpoint_round_trip_gives_identical_outputs(tmp_path, name):
    """Saved and loaded: the same config, the same weights, the same BatchNorm statistics."""
    torch.manual_seed(0)
    trained = create_model(name, base_channels=8, kernel_size=5)
    trained.train()(torch.rand(4, 3, 32, 32))  # running statistics that are not the defaults
    trained.eval()
    meta = {"model": name, **trained.config.to_meta(), "params": sum(p.numel() for p in trained.parameters())}
    save_checkpoint(tmp_path, name, trained, meta)
    model, _ = load_checkpoint(paths(tmp_path, name)["weights"])
    assert model.config == trained.config
    x = torch.rand(2, 3, 32, 32)
    with torch.inference_mode():
        assert torch.equal(model(x), trained(x))
    assert not any(t.is_meta for t in [*model.parameters(), *model.buffers()])  # built on meta, all replaced


def test_a_net_holding_a_tensor_no_file_has_is_built_for_real(tmp_path, monkeypatch):
    """load_checkpoint builds on the meta device; a buffer the file lacks sends it back to a real build."""
    from seg.model import factory

    trained = create_model("segnet_dsc", base_channels=4).eval()
    meta = {"model": "segnet_dsc", **trained.config.to_meta(), "params": sum(p.numel() for p in trained.parameters())}
    save_checkpoint(tmp_path, "segnet_dsc", trained, meta)

    real_build = factory.build

    def with_a_derived_buffer(config):
        net = real_build(config)
        net.register_buffer("derived", torch.ones(3), persistent=False)
        return net

    monkeypatch.setattr(factory, "build", with_a_derived_buffer)
    model, _ = load_checkpoint(paths(tmp_path, "segnet_dsc")["weights"])
    assert torch.equal(model.derived, torch.ones(3))
    x = torch.rand(1, 3, 32, 32)
    with torch.inference_mode():
        assert torch.equal(model(x), trained(x))


def test_resume_after_an_interrupted_epoch_matches_an_uninterrupted_run(synthetic_root, tmp_path, monkeypatch):
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    run_train(synthetic_root, straight, "--model", "segnet_dsc", "--epochs", "3")
    real_epoch = run_module.train_one_epoch

    def interrupted(*args, **kwargs):
        if args[4] == 2:  # epoch number: Ctrl-C halfway through the run
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(run_module, "train_one_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_train(synthetic_root, broken, "--model", "segnet_dsc", "--epochs", "3")
    assert paths(broken, "segnet_dsc")["resume"].exists()
    monkeypatch.setattr(run_module, "train_one_epoch", real_epoch)
    assert run_train(synthetic_root, broken, "--model", "segnet_dsc", "--epochs", "3", "--resume") == 0
    a = json.loads(paths(straight, "segnet_dsc")["meta"].read_text())
    b = json.loads(paths(broken, "segnet_dsc")["meta"].read_text())
    assert without_timing(a["history"]) == without_timing(b["history"])
    assert (load_snapshots(paths(straight, "segnet_dsc")["weights"])
            == load_snapshots(paths(broken, "segnet_dsc")["weights"])).all()


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(synthetic_root, tmp_path, capsys, monkeypatch):
    assert run_train(synthetic_root, tmp_path, "--model", "segnet_dsc", "--epochs", "1") == 0
    good = paths(tmp_path, "segnet_dsc")["weights"].read_bytes()
    nan_loss = lambda logits, target, **kwargs: logits.sum() * float("nan")  # noqa: E731
    monkeypatch.setattr(torch.nn.functional, "cross_entropy", nan_loss)
    assert run_train(synthetic_root, tmp_path, "--model", "segnet_dsc", "--epochs", "1") == 1
    err = capsys.readouterr().err
    assert "loss became nan at epoch 1" in err and "last good checkpoint" in err
    assert paths(tmp_path, "segnet_dsc")["weights"].read_bytes() == good


def test_missing_data_says_how_to_get_it(tmp_path, capsys):
    assert run_train(tmp_path / "nowhere", tmp_path, "--epochs", "1") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--download" in err and "--data-root" in err


def test_evaluate_cli_prints_metrics_json(synthetic_root, tmp_path, capsys):
    run_train(synthetic_root, tmp_path, "--model", "segnet_dsc", "--epochs", "1", "--test")
    capsys.readouterr()
    weights = paths(tmp_path, "segnet_dsc")["weights"]
    assert evaluate_main(["--checkpoint", str(weights), "--data-root", str(synthetic_root),
                          "--cache-dir", str(tmp_path / "cache")]) == 0
    result = json.loads(capsys.readouterr().out)
    meta = json.loads(paths(tmp_path, "segnet_dsc")["meta"].read_text())
    assert result["images"] == meta["final"]["images"] == 9 and meta["final"]["split"] == "test"
    assert result["pixel_accuracy"] == meta["final"]["pixel_accuracy"]  # the same number, not a close one
    assert result["miou"] == meta["final"]["miou"] and result["iou"] == meta["final"]["iou"]
    # each image's confusion matrix, recorded one to a line, sums to the split's
    per_image = meta["final"]["confusion_per_image"]
    assert len(per_image) == 9 and torch.tensor(per_image).sum(0).tolist() == result["confusion_matrix"]
    lines = paths(tmp_path, "segnet_dsc")["meta"].read_text().splitlines()
    assert sum(line.strip().rstrip(",") == json.dumps(row) for row in per_image for line in lines) >= 9


@pytest.mark.parametrize("meta", [
    {"a": [[1, 2], [3, 4]], "rows": [[[1, 2], [3, 4]], [[5, 6], [7, 8]]], "empty": [], "none": {}, "n": float("inf")},
    {"history": [{"epoch": 1, "losses": [0.5, 0.25]}], "text": "ü \"quoted\"", "mixed": [1, "x", None]},
])
def test_metadata_files_read_back_as_written(tmp_path, meta):
    save_meta(tmp_path, "segnet_dsc", meta)
    assert json.loads(paths(tmp_path, "segnet_dsc")["meta"].read_text()) == meta


def test_evaluate_cli_names_a_broken_checkpoint(tmp_path, capsys):
    bad = tmp_path / "segnet_dsc.safetensors"
    bad.write_bytes(b"not a safetensors file")
    (tmp_path / "segnet_dsc.json").write_text(json.dumps({"model": "segnet_dsc"}))
    assert evaluate_main(["--checkpoint", str(bad)]) == 2
    assert str(bad) in capsys.readouterr().err


def test_missing_checkpoint_says_how_to_make_it(tmp_path):
    with pytest.raises(CheckpointError, match="python train.py --model segnet_regular"):
        load_checkpoint(tmp_path / "segnet_regular.safetensors")
