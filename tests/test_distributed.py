"""train.py under torchrun: two CPU ranks on gloo, against one process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from conftest import ROOT, without_timing
from synthetic import make_oxford_layout
from torch import nn

from seg.model.checkpoint import paths
from seg.scoring.evaluate import main as evaluate_main
from seg.train.distributed import AllReduceBatchNorm2d, sync_batchnorm
from tools.launch import free_port

pytestmark = pytest.mark.slow
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}  # two ranks on two cores
EPOCHS = ("--epochs", "3", "--limit", "16")


def torchrun(*args, nproc=2):
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", *args]


def train_args(root, out, *extra):
    return ["train.py", "--model", "segnet_dsc", "--device", "cpu", "--data-root", str(root), "--out", str(out),
            "--cache-dir", str(out / "cache"), "--size", "32", "--batch-size", "4", "--quiet", *extra]


@pytest.fixture(scope="module")
def pets(tmp_path_factory):
    return make_oxford_layout(tmp_path_factory.mktemp("pets"), trainval=18, test=5)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file())


@pytest.fixture(scope="module")
def straight(pets, tmp_path_factory):
    """Three epochs on two ranks, uninterrupted, then the test split: the checkpoint the next test
    reads and the run a killed-and-resumed one must match (one torchrun job serves both)."""
    out = tmp_path_factory.mktemp("straight")
    done = subprocess.run(torchrun(*train_args(pets, out, *EPOCHS, "--test")), cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return out, done.stdout


def test_two_ranks_write_one_checkpoint_that_says_so(pets, straight, capsys):
    out, stdout = straight
    assert files_in(out) == ["segnet_dsc.json", "segnet_dsc.safetensors", "segnet_dsc.snapshots.npz"]
    assert stdout.count("segnet_dsc epoch 1/3") == 1  # rank 0 alone prints
    meta = json.loads(paths(out, "segnet_dsc")["meta"].read_text())
    assert meta["distributed"] == {"world_size": 2, "backend": "gloo", "sync_bn": True, "devices": ["cpu", "cpu"],
                                   "global_batch": 4}
    # The test metrics the ranks reduced equal one process scoring the saved file.
    assert evaluate_main(["--checkpoint", str(paths(out, "segnet_dsc")["weights"]), "--data-root", str(pets),
                          "--cache-dir", str(out / "cache"), "--limit", "16", "--device", "cpu"]) == 0
    fresh = json.loads(capsys.readouterr().out)
    assert fresh["images"] == meta["final"]["images"] == 5
    assert fresh["pixel_accuracy"] == pytest.approx(meta["final"]["pixel_accuracy"], abs=1e-12)
    # The breed groups come from the ranks' per-image confusions, each image placed once.
    assert fresh["groups"] == meta["final"]["groups"]


def steps(out: Path, *cmd) -> dict:
    subprocess.run([*cmd, str(out)], cwd=ROOT, env=ENV, check=True, capture_output=True, timeout=300)
    return json.loads(out.read_text())


def in_this_process(out: Path) -> dict:
    """tests/ddp_steps.py as one process, run in this one: a world of 1 starts no process group."""
    import ddp_steps

    dtype = torch.get_default_dtype()
    try:
        ddp_steps.main(str(out), modes=("synced",))  # a world of one has no other rank to sync with
    finally:
        torch.set_default_dtype(dtype)  # it trains in float64
    return json.loads(out.read_text())


def test_two_ranks_with_synced_batchnorm_train_as_one_process(tmp_path):
    """Same global batch: the same loss at every step and the same evaluation (tests/ddp_steps.py)."""
    one = in_this_process(tmp_path / "one.json")
    two = steps(tmp_path / "two.json", *torchrun(str(ROOT / "tests" / "ddp_steps.py")))
    assert (one["world_size"], two["world_size"]) == (1, 2)
    one, synced, alone = one["synced"], two["synced"], two["per_rank"]
    assert synced["step_losses"] == pytest.approx(one["step_losses"], abs=1e-5)
    for when in ("before", "after"):  # 7 images: shares of 4 and 3, each image scored once
        for key in ("pixel_accuracy", "iou"):
            assert synced[when][key] == one[when][key], (when, key)
        assert synced[when]["loss"] == pytest.approx(one[when]["loss"], abs=1e-6)
    # The check can fail: per-rank BatchNorm normalises each half batch alone and departs at once.
    assert abs(alone["step_losses"][0] - one["step_losses"][0]) > 1e-4


def rank_pids(launcher_pid: int) -> dict:
    """{rank: pid} of the workers torchrun started (read from their environment)."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            env = dict(v.split("=", 1) for v in (proc / "environ").read_text().split("\0") if "=" in v)
        except (OSError, ValueError):
            continue
        if env.get("TORCHELASTIC_RUN_ID") and env.get("SEG_TEST_RUN") == str(launcher_pid):
            found[int(env["RANK"])] = int(proc.name)
    return found


def test_kill_one_rank_mid_epoch_then_resume_matches_an_uninterrupted_run(pets, straight, tmp_path):
    killed, epochs = tmp_path / "killed", EPOCHS
    marker = str(os.getpid())
    launcher = subprocess.Popen(torchrun(*train_args(pets, killed, *epochs)), cwd=ROOT,
                                env={**ENV, "SEG_TEST_RUN": marker}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    meta, deadline = paths(killed, "segnet_dsc")["meta"], time.time() + 300
    while not (meta.exists() and json.loads(meta.read_text())["epochs_done"] >= 1):
        assert launcher.poll() is None, "the run ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.05)
    os.kill(rank_pids(int(marker))[1], signal.SIGKILL)  # rank 1, mid-epoch 2
    assert launcher.wait(timeout=120) != 0  # torchrun stops the other rank and fails
    assert json.loads(meta.read_text())["epochs_done"] < 3
    alone = tmp_path / "alone"
    shutil.copytree(killed, alone)
    subprocess.run(torchrun(*train_args(pets, killed, *epochs, "--resume")), cwd=ROOT, env=ENV, check=True,
                   capture_output=True, timeout=300)
    assert files_in(killed) == ["segnet_dsc.json", "segnet_dsc.safetensors", "segnet_dsc.snapshots.npz"]
    a, b = (json.loads(paths(d, "segnet_dsc")["meta"].read_text()) for d in (straight[0], killed))
    assert without_timing(a["history"]) == without_timing(b["history"]) and b["epochs_done"] == 3
    # The same interrupted run may also finish at another world size: here one process.
    saved = json.loads(paths(alone, "segnet_dsc")["meta"].read_text())["history"]
    subprocess.run([sys.executable, *train_args(pets, alone, *epochs, "--resume")], cwd=ROOT, env=ENV, check=True,
                   capture_output=True, timeout=300)
    c = json.loads(paths(alone, "segnet_dsc")["meta"].read_text())
    assert c["epochs_done"] == 3 and c["history"][:len(saved)] == saved and c["distributed"]["world_size"] == 1


@pytest.mark.parametrize("extra, nproc, message", [
    (("--batch-size", "3"), 2, "--batch-size 3 is the global batch and must split evenly over 2 ranks"),
    (("--limit", "2"), 2, "2 ranks but only 1 training images"),
])
def test_a_bad_world_is_named_by_rank_0_and_nothing_is_written(pets, tmp_path, extra, nproc, message):
    out = tmp_path / "run"
    done = subprocess.run(torchrun(*train_args(pets, out, "--epochs", "1", *extra), nproc=nproc), cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and message in done.stderr
    assert not out.exists() or not [p for p in out.iterdir() if p.suffix in (".json", ".safetensors", ".pt")]


def test_a_rank_that_cannot_reach_the_rendezvous_stops_with_the_fix(pets, tmp_path):
    env = {**ENV, "WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(free_port())}  # nobody listens there
    start = time.time()
    done = subprocess.run([sys.executable, *train_args(pets, tmp_path / "run", "--dist-timeout", "1")], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "rank 1 could not join the process group at 127.0.0.1:" in done.stderr
    assert "--rdzv-endpoint" in done.stderr and time.time() - start < 60


def test_global_batchnorm_on_one_rank_is_batchnorm(tmp_path):
    """The CPU SyncBatchNorm's arithmetic, gradient and running statistics, against BatchNorm2d."""
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        torch.manual_seed(0)
        plain = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
        nn.init.uniform_(plain[1].weight, 0.5, 1.5), nn.init.uniform_(plain[1].bias, -1, 1)
        synced = sync_batchnorm(nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8)), torch.device("cpu"))
        synced.load_state_dict(plain.state_dict())
        assert isinstance(synced[1], AllReduceBatchNorm2d) and synced.state_dict().keys() == plain.state_dict().keys()
        x, weight = torch.randn(4, 3, 10, 10), torch.randn(4, 8, 8, 8)
        outputs = [(net(x) * weight).sum() for net in (plain, synced)]
        for out in outputs:
            out.backward()
        assert outputs[0].item() == pytest.approx(outputs[1].item(), rel=1e-5)
        for a, b in zip(plain.parameters(), synced.parameters()):
            # atol: the conv bias ahead of BatchNorm has a gradient of exactly zero, which float32
            # sums leave at ~1e-5 either way, more or less with the thread count
            assert torch.allclose(a.grad, b.grad, rtol=1e-4, atol=1e-4)
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            assert torch.allclose(getattr(plain[1], name).float(), getattr(synced[1], name).float(), atol=1e-6)
    finally:
        dist.destroy_process_group()


def test_global_batchnorm_keeps_the_parameters_an_optimizer_already_holds():
    """train.py makes the optimizer before DDP wraps the model: the swap must not orphan BN's weights."""
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
    held = {id(p) for p in torch.optim.AdamW(net.parameters()).param_groups[0]["params"]}
    running_mean = net[1].running_mean
    synced = sync_batchnorm(net, torch.device("cpu"))
    assert isinstance(synced[1], AllReduceBatchNorm2d) and synced[1].running_mean is running_mean
    assert {id(p) for p in synced.parameters()} == held
