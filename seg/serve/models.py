"""The shipped variants loaded once and run on one inference thread: a photo in, masks and ms out."""

from __future__ import annotations

import copy
import os
import reprlib
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import torch
from PIL import Image
from torch import nn

from seg.data.pets import to_input
from seg.model.checkpoint import CHECKPOINT_DIR, CheckpointError, load_checkpoint, paths, train_command
from seg.model.fastpath import fast_path
from seg.model.variants import PAIR, VARIANTS


@torch.inference_mode()
def predict_logits(model, x: torch.Tensor) -> torch.Tensor:
    return model(x.contiguous(memory_format=torch.channels_last)).contiguous()


def inference_device(cuda_available: bool | None = None) -> torch.device:
    """CUDA where there is a GPU (a local one, or ZeroGPU's inside `spaces.GPU`), else the CPU.
    SEG_DEVICE (cpu, cuda, cuda:1) overrides."""
    if os.environ.get("SEG_DEVICE"):
        return torch.device(os.environ["SEG_DEVICE"])
    available = torch.cuda.is_available() if cuda_available is None else cuda_available
    return torch.device("cuda" if available else "cpu")


def on_zero_gpu() -> bool:
    """Hugging Face ZeroGPU: CUDA may not run in the main process, only inside `spaces.GPU` calls."""
    return bool(os.environ.get("SPACES_ZERO_GPU"))


def prepare(model: nn.Module, size: int, device: torch.device) -> nn.Module:
    """The CPU's fast path (BN folded, oneDNN-packed convs); on a GPU the eager fp32 model, so both
    devices give the eager model's masks (no AMP: it would change them). A copy: `model` stays."""
    if device.type == "cpu":
        return fast_path(model, size)
    return copy.deepcopy(model).to(device).eval()


def synchronizer(device: torch.device):
    """What makes a timing honest on this device: CUDA runs asynchronously, so wait for it."""
    return torch.cuda.synchronize if device.type == "cuda" else (lambda: None)


@dataclass
class Loaded:
    name: str
    eager: nn.Module  # as trained, on the CPU, for fast paths at other sizes
    meta: dict
    device: torch.device
    _ready: nn.Module | None = field(default=None, repr=False)

    @property
    def model(self) -> nn.Module:
        """The fast path on CPU (prepared for meta["input_size"]), eager on a GPU; built and warmed
        on first use, which is on the inference thread (Models runs every model call there)."""
        if self._ready is None:
            self._ready = warmed(self.eager, self.meta["input_size"], self.device)
        return self._ready


class Models:
    """The shipped variants, read and checked at start-up; a broken checkpoint never stops the app,
    it is named in `errors` with the command that re-creates it. Each fast path is built and warmed
    on first use; `warm_up` starts the pair's in the background once the app is built, so the
    server answers without waiting for it (a first request queues behind it on the same thread).

    All model work (loading, warm-up, every run) happens on one long-lived thread, `run()`'s:
    each new calling thread would otherwise bring its own OpenMP team, which competes with the
    idle-spinning team of the thread that warmed the models up, and the ms shown would be
    partly thread contention. An exception in one run is raised to its caller; the thread lives on.
    In a forked child (ZeroGPU runs `spaces.GPU` functions in one) that thread did not come
    along: there the work runs in the calling thread, the child's only one.
    """

    THREAD_NAME = "inference"

    def __init__(self, checkpoint_dir=CHECKPOINT_DIR, device: torch.device | None = None, names=VARIANTS):
        self.device = device or inference_device()
        self._worker = ThreadPoolExecutor(1, thread_name_prefix=self.THREAD_NAME)
        self._owner_pid = os.getpid()
        self.loaded: dict[str, Loaded] = {}
        self.errors: dict[str, str] = {}
        for name in names:
            try:
                self.loaded[name] = self.run(load_variant, paths(checkpoint_dir, name)["weights"], self.device)
            except CheckpointError as err:
                command = train_command(name)
                self.errors[name] = str(err) if command in str(err) else f"{err}. Re-create it with `{command}`"

    def warm_up(self, names=PAIR) -> Future:
        """Build and warm these variants' fast paths on the inference thread; returns at once."""
        return self.submit(lambda: [self.loaded[n].model for n in names if n in self.loaded])

    def submit(self, fn, *args) -> Future:
        """fn(*args) on the inference thread; the caller may do other work until `.result()`."""
        if os.getpid() == self._owner_pid:
            return self._worker.submit(fn, *args)
        done = Future()
        try:
            done.set_result(fn(*args))
        except Exception as err:  # raised at .result(), as from the thread
            done.set_exception(err)
        return done

    def run(self, fn, *args):
        """fn(*args) on the inference thread; its result, or its exception, here."""
        return self.submit(fn, *args).result()

    def unavailable(self, names) -> dict:
        """{name: why} for each of `names` that cannot run: not a variant, or its checkpoint missing."""
        known = ", ".join(self.loaded) or "none"
        return {n: self.errors.get(n) or f"{reprlib.repr(n)} is not a shipped variant; available: {known}"
                for n in names if n not in self.loaded}

    def segment(self, photo: Image.Image, names=PAIR) -> dict:
        """The named loaded variants on one photo, one after another on the inference thread."""
        return self.run(segment_photo, photo, {n: self.loaded[n] for n in names})


def load_variant(weights_path, device: torch.device = torch.device("cpu")) -> Loaded:
    """The checkpoint, read and checked now; its fast path is built on first use (`Loaded.model`)."""
    model, meta = load_checkpoint(weights_path)
    return Loaded(meta["model"], model, meta, device)


def warmed(model: nn.Module, size: int, device: torch.device) -> nn.Module:
    ready = prepare(model, size, device)
    if not (device.type == "cuda" and on_zero_gpu()):  # ZeroGPU: no CUDA work outside spaces.GPU
        predict_logits(ready, torch.zeros(1, 3, size, size, device=device))  # the first call pays the set-up
    return ready


def segment_photo(photo: Image.Image, loaded: dict) -> dict:
    """Per model: its class mask and logits at the model's input size, and the milliseconds it took."""
    results, inputs = {}, {}
    for name, entry in loaded.items():
        key = (entry.meta["input_size"], entry.device)
        if key not in inputs:  # resized once for every model that takes this size
            inputs[key] = to_input(photo, key[0]).to(entry.device)
        x = inputs[key]
        sync = synchronizer(entry.device)
        sync()
        start = time.perf_counter()
        logits = predict_logits(entry.model, x)
        sync()
        ms = (time.perf_counter() - start) * 1000
        # The logits too: masks at the photo's size are upsampled from them (upsample_logits).
        results[name] = {"mask": logits[0].argmax(0).to(torch.uint8).cpu(), "logits": logits[0].float().cpu().numpy(),
                         "ms": ms}
    return results
