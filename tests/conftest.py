"""Shared fixtures: where the real data lives, and skips that say why."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Python caches bytecode by default; machines that set PYTHONDONTWRITEBYTECODE (our CI's do) make
# pytest rewrite every test module again on every run, and every process the suite starts (app
# launches, CLIs, torchrun ranks) compile this repository's modules again: seconds of each run.
# The suite writes them, as Python does by default (to the __pycache__/ folders git ignores), and
# the processes it starts read them.
sys.dont_write_bytecode = False

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATA_ROOT = SHARED / "data-official"
POLYGONS_ROOT = SHARED / "data-polygons"
PHOTOS = SHARED / "photos"
ARTIFACTS = ROOT / "tests" / "artifacts"


# The longest test files, longest first (pytest --durations=0, AMD EPYC, 2 cores). pytest-xdist
# hands each worker whole files in collection order (pytest.ini: --dist loadfile
# --no-loadscope-reorder; its default order, most tests first, starts these last): so they start
# at once, and no worker is left running one alone while the other idles at the end.
LONGEST_FIRST = ("test_export.py", "test_ondevice.py", "test_distributed.py", "test_browser.py", "test_shipped.py",
                 "test_faults.py", "test_hardening.py", "test_edge.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


TIMING_KEYS = ("train_seconds", "images_per_s")


def without_timing(history):
    """A training history minus the wall-clock fields, which no two runs share."""
    return [{k: v for k, v in h.items() if k not in TIMING_KEYS} for h in history]


def logits_of(mask):
    """Logits (3 x h x w, numpy) whose argmax is `mask`: for stand-ins of a model run."""
    import numpy as np

    mask = np.asarray(mask)
    return (np.arange(3)[:, None, None] == mask[None]).astype(np.float32) * 10


def need(path: Path):
    if not path.exists():
        pytest.skip(f"{path} is absent: this test needs the real files from ../shared (see README)")
    return path


@pytest.fixture(scope="session")
def data_root():
    return need(DATA_ROOT / "oxford-iiit-pet") and DATA_ROOT


@pytest.fixture(scope="session")
def polygons_root():
    return need(POLYGONS_ROOT / "oxford-iiit-pet") and POLYGONS_ROOT


@pytest.fixture(scope="session")
def photos():
    return need(PHOTOS)


def write_tiny_checkpoints(folder: Path, base_channels: int = 4) -> Path:
    """Untrained narrow models saved as real checkpoints: fast stand-ins for handler tests."""
    import torch

    from seg.model.checkpoint import save_checkpoint
    from seg.model.cost import model_cost
    from seg.model.factory import create_model
    from seg.model.variants import VARIANTS

    for name in VARIANTS:
        torch.manual_seed(0)
        model = create_model(name, base_channels=base_channels).eval()
        meta = {"model": name, **model.config.to_meta(), "input_size": 64,
                "params": sum(p.numel() for p in model.parameters()),
                "mult_adds": model_cost(name, 64, base_channels=base_channels)["totals"]["mult_adds"]}
        save_checkpoint(folder, name, model, meta)
    return folder


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory):
    return write_tiny_checkpoints(tmp_path_factory.mktemp("checkpoints"))


@pytest.fixture(scope="session")
def export_dir(tmp_path_factory):
    """One folder of exported files (from the shipped checkpoints) for every test that needs them,
    shared by the parallel workers of a run: each file is built once (seg.deploy.export's
    ensure_export reuses what matches, and locks a file being built across processes)."""
    root = tmp_path_factory.getbasetemp()
    folder = (root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root) / "exports"
    folder.mkdir(exist_ok=True)
    return folder


def pytest_configure(config):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Parallel workers on a 2-core machine: one torch thread each, or their OpenMP teams spin
        # against each other. The apps and trainings the tests start keep their own threads.
        import torch

        torch.set_num_threads(1)
