"""A photo in, masks out: one preprocessing function, one fast path, one postprocessing.

Used by the app and by bench.py, so what the benchmark times is what the app runs.
"""

from __future__ import annotations

import copy
import os
import time
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import nn

from .checkpoint import CHECKPOINT_DIR, CheckpointError, load_checkpoint, paths, train_command
from .config import PAIR, VARIANTS
from .fastpath import fast_path
from .pets import image_to_tensor, resize_image

MAX_SIDE = 4096  # larger photos are downscaled before any other work
MAX_PIXELS = 64_000_000  # refuse to decode beyond this: a decompression bomb, not a photo
COLOURS = np.array([(255, 140, 0), (40, 90, 200), (255, 235, 60)], dtype=np.uint8)  # pet, background, border
SAMPLE_PHOTO = Path(__file__).parent / "assets" / "chelsea.png"  # scikit-image's CC0 sample cat


class PhotoError(ValueError):
    """A message for the person who uploaded the file."""


def load_photo(path) -> Image.Image:
    """Any readable image file as upright RGB, transparency flattened onto white, at most MAX_SIDE."""
    if path is None:
        raise PhotoError("Please upload a photo of a cat or dog first.")
    path = Path(path)
    if not path.exists():  # the app's cache deletes uploads after SEG_CACHE_TTL seconds
        raise PhotoError("That upload has expired: please upload the photo again.")
    if not path.is_file() or path.stat().st_size == 0:
        raise PhotoError("The file is empty: please upload a photo (JPEG, PNG, WebP, GIF, …).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                check_pixels(img.width, img.height)
                img.seek(0)  # animated GIF/WebP: the first frame
                img.draft(None, (MAX_SIDE, MAX_SIDE))  # JPEG: decode big photos at reduced scale
                img.load()
                photo = to_rgb(ImageOps.exif_transpose(img))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError(too_many_pixels("more pixels than any photo")) from None
    except UnidentifiedImageError:
        raise PhotoError("This file is not an image the app can read. "
                         "Please upload a JPEG, PNG, WebP or GIF.") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise PhotoError("The image file is damaged or truncated and cannot be decoded. "
                         "Please upload another.") from None
    if max(photo.size) > MAX_SIDE:
        photo.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return photo


def check_pixels(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise PhotoError(too_many_pixels(f"{width}×{height} pixels"))


def too_many_pixels(what: str) -> str:
    return (f"The image has {what} (the limit is {MAX_PIXELS // 1_000_000} megapixels), "
            "perhaps a decompression bomb. Please upload a smaller image.")


def to_rgb(img: Image.Image) -> Image.Image:
    """RGB from any mode: palette, CMYK, 16-bit grey, alpha composited on white."""
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if img.mode.startswith("I;16") or array.max() > 255 else 255.0
        img = Image.fromarray((array / peak * 255).round().clip(0, 255).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def to_input(photo: Image.Image, size: int = 128) -> torch.Tensor:
    """1x3xSxS float in [0, 1], resized as the training data was (tensor resize, antialiased)."""
    return resize_image(image_to_tensor(photo), size).float().div_(255).unsqueeze(0)


@torch.inference_mode()
def predict_logits(model, x: torch.Tensor) -> torch.Tensor:
    return model(x.contiguous(memory_format=torch.channels_last)).contiguous()


def upsample_mask(mask, size_wh) -> np.ndarray:
    """A class mask at the photo's resolution, nearest-neighbour so no new classes appear.

    numpy, not torch: it runs on request and file-writer threads, and a torch op big enough to
    go parallel there would start an OpenMP team per such thread, spinning beside the inference
    thread's. Same pixels as torch's `interpolate(mode="nearest")` (floorf(i * in / out), float32).
    """
    width, height = size_wh
    mask = np.asarray(mask)
    rows = nearest_indices(mask.shape[0], height)
    cols = nearest_indices(mask.shape[1], width)
    return mask[rows[:, None], cols[None, :]].astype(np.uint8)


def upsample_logits(logits, size_wh) -> np.ndarray:
    """The class mask at the photo's resolution: the logits (C x h x w) upsampled bilinearly,
    then the argmax, so edges follow the model's own boundary between pixels instead of the
    staircase of its h x w labels blown up. The pixels of torch's `interpolate(mode="bilinear",
    align_corners=False)` then argmax (up to float rounding at exact ties); numpy for the reason
    `upsample_mask` gives, and one axis at a time (two small passes, not one big gather)."""
    width, height = size_wh
    logits = np.asarray(logits, dtype=np.float32)
    top, bottom, down = bilinear_taps(logits.shape[1], height)
    rows = logits[:, top] * (1 - down)[None, :, None] + logits[:, bottom] * down[None, :, None]
    left, right, across = bilinear_taps(logits.shape[2], width)
    full = rows[:, :, left] * (1 - across) + rows[:, :, right] * across
    return full.argmax(0).astype(np.uint8)


def bilinear_taps(size_in: int, size_out: int):
    """(first source index, second, weight of the second) per output index, half-pixel centres."""
    source = np.maximum((np.arange(size_out, dtype=np.float32) + 0.5) * np.float32(size_in / size_out) - 0.5, 0)
    first = np.minimum(source.astype(np.int64), size_in - 1)
    return first, np.minimum(first + 1, size_in - 1), (source - first).astype(np.float32)


def nearest_indices(size_in: int, size_out: int) -> np.ndarray:
    scale = np.float32(size_in / size_out)
    return np.minimum(np.floor(np.arange(size_out, dtype=np.float32) * scale).astype(np.int64), size_in - 1)


def blend(photo: Image.Image, mask: np.ndarray, opacity: float) -> Image.Image:
    """The photo with each class painted in its legend colour at the given opacity."""
    return Image.blend(photo, Image.fromarray(COLOURS[mask]), float(opacity))  # PIL's C loop


def mask_png(mask: np.ndarray, path) -> Path:
    """A palette PNG: each pixel's index is its class (0 pet, 1 background, 2 border)."""
    img = Image.fromarray(mask, mode="P")
    img.putpalette(COLOURS.flatten().tolist())
    img.save(path, format="PNG", compress_level=1)  # fast; a mask compresses well anyway
    return Path(path)


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
    model: nn.Module  # the fast path on CPU (prepared for meta["input_size"]), eager on a GPU
    eager: nn.Module  # as trained, on the CPU, for fast paths at other sizes
    meta: dict
    device: torch.device


class Models:
    """The shipped variants, loaded once at start-up; a broken checkpoint never stops the app,
    it is named in `errors` with the command that re-creates it.

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
        return {n: self.errors.get(n) or f"{n!r} is not a shipped variant; available: {known}"
                for n in names if n not in self.loaded}

    def segment(self, photo: Image.Image, names=PAIR) -> dict:
        """The named loaded variants on one photo, one after another on the inference thread."""
        return self.run(segment_photo, photo, {n: self.loaded[n] for n in names})


def load_variant(weights_path, device: torch.device = torch.device("cpu")) -> Loaded:
    model, meta = load_checkpoint(weights_path)
    size = meta["input_size"]
    ready = prepare(model, size, device)
    if not (device.type == "cuda" and on_zero_gpu()):  # ZeroGPU: no CUDA work outside spaces.GPU
        predict_logits(ready, torch.zeros(1, 3, size, size, device=device))  # the first call pays the set-up
    return Loaded(meta["model"], ready, model, meta, device)


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
