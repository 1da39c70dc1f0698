"""Where the models run, decided without a GPU: the device is injected, never the machine's."""

from __future__ import annotations

import threading

import pytest
import torch
from PIL import Image

from seg.model.factory import create_model
from seg.model.fastpath import OneDNNConv
from seg.model.segnet import SegNet
from seg.serve import inference
from seg.serve.inference import inference_device, prepare, segment_photo, synchronizer
from seg.serve.models import Models


@pytest.mark.parametrize("cuda, expected", [(True, "cuda"), (False, "cpu")])
def test_the_gpu_is_used_where_there_is_one(monkeypatch, cuda, expected):
    monkeypatch.delenv("SEG_DEVICE", raising=False)
    assert inference_device(cuda_available=cuda).type == expected


def test_seg_device_overrides_the_choice(monkeypatch):
    monkeypatch.setenv("SEG_DEVICE", "cpu")
    assert inference_device(cuda_available=True) == torch.device("cpu")


@pytest.mark.parametrize("name", ["segnet_regular", "segnet_dsc"])
def test_off_the_cpu_the_eager_fp32_model_moves_and_the_original_stays(name):
    model = create_model(name, base_channels=4).eval()
    moved = prepare(model, 64, torch.device("meta"))  # stands in for cuda: a device that is not the CPU
    assert isinstance(moved, SegNet) and not moved.training
    assert {p.device.type for p in moved.parameters()} == {"meta"}
    assert {p.dtype for p in moved.parameters()} == {torch.float32}
    assert {p.device.type for p in model.parameters()} == {"cpu"}


def test_on_the_cpu_the_fast_path_is_used():
    model = create_model("segnet_dsc", base_channels=4).eval()
    fast = prepare(model, 64, torch.device("cpu"))
    assert any(isinstance(m, OneDNNConv) for m in fast.modules())
    assert not any(isinstance(m, OneDNNConv) for m in model.modules())  # a copy: the original stays


def test_cuda_timings_wait_for_the_device():
    assert synchronizer(torch.device("cuda")) is torch.cuda.synchronize
    assert synchronizer(torch.device("cpu"))() is None


def test_each_model_is_timed_between_two_synchronisations(tiny_checkpoints, monkeypatch):
    models = Models(tiny_checkpoints, device=torch.device("cpu"))
    log = []
    monkeypatch.setattr(inference, "synchronizer", lambda device: lambda: log.append("sync"))
    for entry in models.loaded.values():
        entry.model.register_forward_hook(lambda *_: log.append("model"))
    segment_photo(Image.new("RGB", (50, 40)), models.loaded)
    assert log == ["sync", "model", "sync"] * len(models.loaded)


def test_in_a_forked_child_the_work_runs_in_the_calling_thread(tiny_checkpoints):
    models = Models(tiny_checkpoints, device=torch.device("cpu"))
    assert models.run(lambda: threading.current_thread().name).startswith(Models.THREAD_NAME)
    models._owner_pid = -1  # as seen from a child forked by spaces.GPU: the inference thread stayed behind
    assert models.run(lambda: threading.current_thread().name) == threading.current_thread().name
    with pytest.raises(ZeroDivisionError):
        models.run(lambda: 1 / 0)
    assert set(models.segment(Image.new("RGB", (50, 40)), list(models.loaded))) == set(models.loaded)


def test_building_and_loading_the_page_run_no_torch_op_outside_the_inference_thread():
    """A single torch op on another thread starts an OpenMP team there, which then slows every
    model run on the inference thread (the replay's picture resize did: DSC 11 -> 16-19 ms).
    The page's torch work (the replay's pictures, the checkpoints' status) goes through Models.run."""
    from torch.utils._python_dispatch import TorchDispatchMode

    import app

    ops = []

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            ops.append(str(func))
            return func(*args, **(kwargs or {}))

    from seg.model.checkpoint import CHECKPOINT_DIR

    # The shipped checkpoints: their training metadata is what gives the Training tab its pictures.
    models = Models(CHECKPOINT_DIR, device=torch.device("cpu"))
    with Record():  # records the ops of this (the building and loading) thread only
        demo = app.build(CHECKPOINT_DIR, models=models)
        on_load = [f for f in demo.fns.values() if f.fn and any(event == "load" for _, event in f.targets)]
        answers = [f.fn(*(c.value for c in f.inputs)) for f in on_load]
    assert ops == []
    assert {f.fn.__qualname__ for f in on_load} >= {"SegmentTab.status", "TrainingRecord.replay_files"}
    grid, sample = answers[[f.fn.__qualname__ for f in on_load].index("TrainingRecord.replay_files")]
    assert Image.open(grid).size[0] > 0 and Image.open(sample).size[0] > 0  # the pictures were drawn
