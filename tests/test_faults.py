"""Faults lose nothing: broken checkpoints are named, killed training runs resume exactly."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from bad_files import photo_like
from conftest import ROOT, without_timing, write_tiny_checkpoints
from safetensors.torch import load_file, save_file
from synthetic import make_oxford_layout

from seg.model.checkpoint import CheckpointError, load_checkpoint, load_resume, paths
from seg.scoring.evaluate import main as evaluate_main
from seg.serve.models import Models
from tools.launch import local_client, running_app

gradio_client = pytest.importorskip("gradio_client")


@pytest.fixture
def checkpoints(tmp_path):
    return write_tiny_checkpoints(tmp_path / "ck")


def truncate(path: Path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def other_models_weights(folder: Path):
    shutil.copy(folder / "segnet_dsc.safetensors", folder / "segnet_regular.safetensors")


def lying_metadata(folder: Path):
    meta = json.loads((folder / "segnet_regular.json").read_text())
    meta["params"] += 1
    (folder / "segnet_regular.json").write_text(json.dumps(meta))


FAULTS = {
    "missing file": (lambda f: (f / "segnet_regular.safetensors").unlink(), "missing"),
    "truncated safetensors": (lambda f: truncate(f / "segnet_regular.safetensors"), "unreadable safetensors"),
    "another model's weights": (other_models_weights, "do not fit segnet_regular"),
    "metadata disagrees": (lying_metadata, "parameters"),
    "metadata not JSON": (lambda f: (f / "segnet_regular.json").write_text("{oops"), "not valid JSON"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_broken_checkpoint_is_named_and_the_other_still_loads(checkpoints, fault):
    damage, message = FAULTS[fault]
    damage(checkpoints)
    with pytest.raises(CheckpointError, match=message) as err:
        load_checkpoint(checkpoints / "segnet_regular.safetensors")
    assert "segnet_regular." in str(err.value)
    models = Models(checkpoints)
    assert "segnet_regular" not in models.loaded and "segnet_dsc" in models.loaded
    assert list(models.errors) == ["segnet_regular"] and "segnet_regular" in models.errors["segnet_regular"]


@pytest.mark.slow
def test_app_starts_with_a_broken_checkpoint_and_the_calculator_works(checkpoints, tmp_path):
    truncate(checkpoints / "segnet_dsc.safetensors")
    photo = tmp_path / "p.png"
    photo_like(64, 64).save(photo)
    with running_app(SEG_CHECKPOINT_DIR=checkpoints) as (url, _, _):
        client = local_client(url)
        table = client.predict(128, 3, 64, 4, [], api_name="/cost")[3]["data"]
        assert table[0][3] == "73,728"
        with pytest.raises(Exception, match="segnet_dsc.safetensors"):
            client.predict(gradio_client.handle_file(str(photo)), 0.5, api_name="/segment")


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch /tmp/segnet-pwned",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_loading_never_unpickles(tmp_path):
    Path("/tmp/segnet-pwned").unlink(missing_ok=True)
    with open(paths(tmp_path, "segnet_dsc")["resume"], "wb") as f:
        pickle.dump({"model": Exploit()}, f)
    with pytest.raises(CheckpointError, match="cannot resume"):
        load_resume(tmp_path, "segnet_dsc")
    assert not Path("/tmp/segnet-pwned").exists()
    # A pickle dressed as weights (torch.save's format under the safetensors name) is refused unread.
    write_tiny_checkpoints(tmp_path)
    torch.save({"model": Exploit()}, tmp_path / "segnet_dsc.safetensors")
    with pytest.raises(CheckpointError, match="unreadable safetensors"):
        load_checkpoint(tmp_path / "segnet_dsc.safetensors")
    assert not Path("/tmp/segnet-pwned").exists()


def train_cmd(root, out, *extra):
    return [sys.executable, "train.py", "--model", "segnet_dsc", "--data-root", str(root), "--out", str(out),
            "--cache-dir", str(out / "cache"), "--size", "32", "--batch-size", "2", "--epochs", "3",
            "--quiet", *extra]


@pytest.mark.slow
def test_kill_9_during_an_epoch_then_resume_matches_an_uninterrupted_run(tmp_path):
    root = make_oxford_layout(tmp_path / "pets", trainval=16, test=8)
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    subprocess.run(train_cmd(root, straight), cwd=ROOT, check=True, timeout=300, capture_output=True)
    proc = subprocess.Popen(train_cmd(root, killed), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    meta = paths(killed, "segnet_dsc")["meta"]
    deadline = time.time() + 300
    while not (meta.exists() and json.loads(meta.read_text())["epochs_done"] >= 1):
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # mid-epoch 2: only epoch 1 is on disk
    proc.wait()
    assert json.loads(meta.read_text())["epochs_done"] < 3
    subprocess.run(train_cmd(root, killed, "--resume"), cwd=ROOT, check=True, timeout=300, capture_output=True)
    leftovers = sorted(p.name for p in killed.iterdir() if p.is_file())
    assert leftovers == ["segnet_dsc.json", "segnet_dsc.safetensors", "segnet_dsc.snapshots.npz"]
    a, b = (json.loads(paths(d, "segnet_dsc")["meta"].read_text()) for d in (straight, killed))
    assert without_timing(a["history"]) == without_timing(b["history"]) and a["epochs_done"] == b["epochs_done"] == 3
    weights = [load_file(str(paths(d, "segnet_dsc")["weights"])) for d in (straight, killed)]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0]), "resume is bit-identical"


@pytest.fixture(scope="module")
def one_epoch_run(tmp_path_factory):
    """One epoch trained without --test, started beside a temporary file a killed write left: the
    run both tests below look at (a training run is seconds; one serves both)."""
    root = make_oxford_layout(tmp_path_factory.mktemp("pets"), trainval=8, test=4)
    out = tmp_path_factory.mktemp("one-epoch")
    stale = out / ".segnet_dsc.safetensors.12345.tmp"
    save_file({}, str(stale))
    subprocess.run(train_cmd(root, out, "--epochs", "1"), cwd=ROOT, check=True, timeout=300, capture_output=True)
    return root, out, stale


@pytest.mark.slow
def test_stale_temp_files_from_a_killed_write_are_removed_on_restart(one_epoch_run):
    _, out, stale = one_epoch_run
    assert not stale.exists() and paths(out, "segnet_dsc")["weights"].exists()


@pytest.mark.slow
def test_a_run_finished_without_test_is_scored_by_resume_test_without_training_again(one_epoch_run, capsys):
    root, out, _ = one_epoch_run
    weights, meta = paths(out, "segnet_dsc")["weights"], json.loads(paths(out, "segnet_dsc")["meta"].read_text())
    assert meta["final"] is None and "test" not in meta["data"]["split_sizes"]
    before = weights.read_bytes()
    run = subprocess.run(train_cmd(root, out, "--epochs", "1", "--resume", "--test"), cwd=ROOT, check=True,
                         timeout=300, capture_output=True, text=True)
    assert "training finished earlier; scoring the test split" in run.stdout and "epoch 1/1" not in run.stdout
    scored = json.loads(paths(out, "segnet_dsc")["meta"].read_text())
    assert weights.read_bytes() == before and scored["history"] == meta["history"]
    assert scored["final"]["split"] == "test" and scored["final"]["images"] == 4
    assert scored["data"]["split_sizes"]["test"] == 4
    fresh = ["--checkpoint", str(weights), "--data-root", str(root), "--cache-dir", str(out / "cache")]
    assert evaluate_main(fresh) == 0
    assert json.loads(capsys.readouterr().out)["pixel_accuracy"] == scored["final"]["pixel_accuracy"]  # exactly
