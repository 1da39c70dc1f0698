"""Files a person can deploy, made: each SegNet as ONNX (ONNX Runtime, onnxruntime-web) or as an
ExecuTorch program lowered to XNNPACK (phones), fp32 or int8, each with a JSON card; the command
line, `python -m seg.export`, is seg/deploy/cli.py.

Exported from the BN-folded eval model at the checkpoint's input size (batch 1). Every file is
verified against eager PyTorch before it is kept, and written under a temporary name, then
renamed: a failed export leaves nothing behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import torch

from seg.data.pets import default_data_root
from seg.deploy import cache
from seg.deploy.calibration import prepare, save_table
from seg.deploy.edge import EdgeSegNet
from seg.deploy.runtimes import load_runner
from seg.deploy.targets import EXPORT_DIR, ExportError, Target
from seg.files import atomic_write
from seg.model.checkpoint import CHECKPOINT_DIR, CheckpointError, load_checkpoint, paths
from seg.model.fastpath import fold_batchnorm
from seg.model.variants import VARIANTS

CALIBRATION_IMAGES = 64  # trainval images for int8 calibration
# Test images for the argmax check: 524,288 pixels, so a file that departs on one pixel in 5,000 shows;
# each costs a run of eager and of the file, which a visitor waits for in the Deploy tab.
VERIFY_IMAGES = 32
MIN_AGREEMENT = 0.999  # an fp32 file whose argmax differs from eager's on more pixels is not kept


def sha256(path: Path) -> str:
    """The file's SHA-256, hashed again only when the file changes: every request for a cached
    export checks it against the checkpoint, and the regular checkpoint is 61 MB."""
    stat = Path(path).stat()
    return _sha256(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _sha256(path: str, _mtime_ns: int, _size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def real_images(split: str, count: int, size: int, data_root=None):
    """count real images of a split as float Nx3xSxS in [0, 1], or None where the data is absent."""
    from seg.data.splits import DEFAULT_CACHE, load_cached_split

    try:
        images, _, _ = load_cached_split(data_root or default_data_root(), split, size, DEFAULT_CACHE, limit=count)
    except (FileNotFoundError, RuntimeError, OSError):
        return None
    return images.float() / 255


def verification_inputs(size: int, data_root=None) -> tuple[torch.Tensor, str]:
    images = real_images("test", VERIFY_IMAGES, size, data_root)
    if images is not None:
        return images, f"{len(images)} test images"
    from seg.data.decode import to_input
    from seg.files import SAMPLE_PHOTO
    from seg.serve.photos import load_photo

    return to_input(load_photo(SAMPLE_PHOTO), size), "the bundled sample photo (the dataset is absent)"


@torch.inference_mode()
def verify(file: Path, reference: torch.Tensor, inputs: torch.Tensor, source: str) -> dict:
    """Argmax agreement of the exported file with eager fp32 PyTorch's logits, image by image."""
    run = load_runner(file)
    same = total = 0
    worst = 0.0
    for x, expected in zip(inputs.split(1), reference.split(1)):
        got = run(x)
        same += (expected.argmax(1) == got.argmax(1)).sum().item()
        total += expected[:, 0].numel()
        worst = max(worst, (expected - got).abs().max().item())
    return {"on": source, "pixel_agreement": same / total, "max_abs_logit_diff": worst}


REFERENCES_KEPT = 4
_references: dict[tuple[str, str], torch.Tensor] = {}
_references_lock = threading.Lock()


@torch.inference_mode()
def eager_logits(model: torch.nn.Module, weights_sha256: str, inputs: torch.Tensor) -> torch.Tensor:
    """Eager fp32 logits of the verification inputs, image by image, kept for the same weights'
    next file: a visitor builds a model's ONNX, then its .pte, then an int8 one, and the regular
    net's 32 images cost seconds of eager each time. Keyed by the weights' and the inputs' bytes."""
    key = (weights_sha256, hashlib.sha256(inputs.contiguous().numpy().tobytes()).hexdigest())
    with _references_lock:
        if key in _references:
            return _references[key]
    logits = torch.cat([model(x) for x in inputs.split(1)])
    with _references_lock:
        _references[key] = logits
        while len(_references) > REFERENCES_KEPT:
            _references.pop(next(iter(_references)))  # the oldest
    return logits


def export(target: Target, out_dir, checkpoint_dir=CHECKPOINT_DIR, data_root=None) -> dict:
    """Write target's file and card into out_dir; returns the card."""
    from seg.deploy import lowering

    try:
        model, meta = load_checkpoint(paths(checkpoint_dir, target.model)["weights"])
    except CheckpointError as err:
        raise ExportError(str(err)) from None
    out_dir, size = writable_folder(out_dir, target), meta["input_size"]
    folded = fold_batchnorm(model).eval()
    folded = EdgeSegNet(folded) if target.unpool == "edge" else folded
    weights = paths(checkpoint_dir, target.model)["weights"]
    weights_sha256 = sha256(weights)  # read once: the regular checkpoint is 61 MB
    began, file, details = time.perf_counter(), target.file(out_dir), {}
    with tempfile.TemporaryDirectory() as tmp:
        calibration = calibration_for(target, checkpoint_dir, weights_sha256, Path(tmp), size, data_root)
        fp32 = fp32_onnx_at_hand(target, out_dir, weights_sha256, Path(tmp))

        def write(out):
            details.update(lowering.quantize_onnx(fp32, out, calibration) if fp32
                           else lowering.write(target, folded, size, out, calibration))
        try:
            atomic_write(file, write)
        except Exception as err:  # the exporters raise many kinds; the temporary file is already gone
            raise ExportError(f"the {target.format} export of {target.model} failed: "
                              f"{type(err).__name__}: {err}", errno=getattr(err, "errno", None)) from None
        if calibration and calibration.cache and not calibration.stored:  # keep the ranges with the weights
            save_table(checkpoint_dir, target.model, weights_sha256, calibration.cache,
                       calibration.measured_on, lowering.versions())
    inputs, source = verification_inputs(size, data_root)
    check = checked(file, target, eager_logits(model.eval(), weights_sha256, inputs), inputs, source)
    unpool = target.unpool if VARIANTS[target.model].architecture == "segnet" else "none (transposed convolutions)"
    card = {"file": file.name, "format": target.format, "unpool": unpool,
            "quantization": "int8 (static, per-channel)" if target.int8 else "none (fp32)", **details,
            "input": {"name": "image", "shape": [1, 3, size, size], "dtype": "float32",
                      "range": "RGB in [0, 1], resized to the model's size"},
            "output": {"shape": [1, meta["num_classes"], size, size], "classes": ["pet", "background", "border"]},
            "bytes": file.stat().st_size, "params": meta["params"], "mult_adds": meta["mult_adds"],
            "source": {"checkpoint": weights.name, "sha256": weights_sha256, "git_commit": meta.get("git_commit")},
            "verification": check, "export_seconds": round(time.perf_counter() - began, 1),
            "versions": lowering.versions()}
    atomic_write(target.card(out_dir), lambda tmp: tmp.write_text(json.dumps(card, indent=1)))
    return card


def fp32_onnx_at_hand(target: Target, out_dir: Path, weights_sha256: str, tmp: Path) -> Path | None:
    """For an int8 ONNX build, a copy of the folder's fp32 file of the same weights, verified when it
    was built, to quantize instead of exporting the model again (seconds of torch.onnx's dynamo
    export); None where there is none, or it is from other weights."""
    if not (target.int8 and target.format == "onnx"):
        return None
    fp32 = replace(target, int8=False)
    card = matching_card(fp32, out_dir, weights_sha256)
    if card is None:
        return None
    try:
        copy = shutil.copyfile(fp32.file(out_dir), tmp / "fp32.onnx")  # the folder's may be swept meanwhile
    except OSError:
        return None
    return copy if copy.stat().st_size == card["bytes"] else None


def writable_folder(out_dir, target: Target) -> Path:
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".write-test-{target.stem}.{os.getpid()}.{threading.get_ident()}"  # one per writer
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise ExportError(f"cannot write to {out_dir}: {err.strerror or err}") from None
    return out_dir


def calibration_for(target: Target, checkpoint_dir, weights_sha256: str, tmp: Path, size: int, data_root=None):
    if not target.int8:
        return None
    return prepare(target.format, checkpoint_dir, target.model, weights_sha256, tmp,
                   lambda: calibration_images(size, data_root))


def calibration_images(size: int, data_root=None) -> torch.Tensor:
    images = real_images("trainval", CALIBRATION_IMAGES, size, data_root)
    if images is None:
        raise ExportError("int8 needs trainval images to calibrate on (or, for ONNX, the checkpoint's "
                          f"stored ranges): put the dataset under {default_data_root()} or set SEG_DATA_ROOT")
    return images


def checked(file: Path, target: Target, reference: torch.Tensor, inputs, source: str) -> dict:
    """The file's verification; a file that does not run, or (fp32) gives other masks, is deleted."""
    try:
        check = verify(file, reference, inputs, source)
    except Exception as err:
        file.unlink(missing_ok=True)
        raise ExportError(f"the exported {target.format} file does not run: {err}") from None
    if not target.int8 and check["pixel_agreement"] < MIN_AGREEMENT:  # int8's cost is measured, not gated
        file.unlink(missing_ok=True)
        raise ExportError(f"the exported {target.format} file's masks differ from PyTorch's on "
                          f"{1 - check['pixel_agreement']:.2%} of pixels ({check['on']}): not kept")
    return check


def ensure_export(target: Target, out_dir=EXPORT_DIR, checkpoint_dir=CHECKPOINT_DIR, data_root=None) -> dict:
    """target's card, exporting only where its file is missing or was made from other weights.
    Callers asking for the same file at once wait for one build and share it: threads of this
    process and processes sharing the folder (several app workers, parallel test runs) alike."""
    with build_lock(Path(out_dir), target):
        card = cached_or_export(target, out_dir, checkpoint_dir, data_root)
    cache.sweep(out_dir, keep=target.file(out_dir))  # the folder stays under its bound
    return card


@contextmanager
def build_lock(out_dir: Path, target: Target):
    """An exclusive flock on a lock file beside target's file while the block runs. flock belongs to
    each open() of the file, so it excludes other threads as well as other processes, and the
    kernel releases it if the process dies."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        handle = open(out_dir / f".{target.file(out_dir).name}.lock", "a")
    except OSError as err:
        raise ExportError(f"cannot write to {out_dir}: {err.strerror or err}") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def matching_card(target: Target, out_dir, weights_sha256: str) -> dict | None:
    """target's card in out_dir where its file is there, whole, and made from these weights."""
    try:
        card = json.loads(target.card(out_dir).read_text())
        if card["source"]["sha256"] == weights_sha256 and card["bytes"] == target.file(out_dir).stat().st_size:
            return card
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no file, or an unreadable card: not a match
    return None


def cached_or_export(target: Target, out_dir, checkpoint_dir, data_root) -> dict:
    file = target.file(out_dir)
    if file.exists() and target.card(out_dir).exists():
        try:
            card = matching_card(target, out_dir, sha256(paths(checkpoint_dir, target.model)["weights"]))
        except OSError:
            card = None  # no checkpoint: export names it
        if card is not None:
            cache.used(file)
            return card
    return export(target, out_dir, checkpoint_dir, data_root)
