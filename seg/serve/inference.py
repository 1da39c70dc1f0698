"""The torch side of serving: a variant read from its checkpoint, its fast path built and warmed
on first use, and a photo run through the loaded variants. seg.serve.models runs all of it on
its inference thread, which is where this module is first imported in the app.
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass, field

import torch
from PIL import Image
from torch import nn

from seg.data.decode import to_input
from seg.model.checkpoint import load_checkpoint
from seg.model.fastpath import fast_path


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
