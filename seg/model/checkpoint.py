"""Checkpoints: weights in safetensors, metadata in JSON, both written atomically.

Nothing here unpickles: weights are safetensors, resume state is loaded `weights_only=True`.
torch is imported by the functions that need it: the app's page is built from the paths and
metadata here before torch is imported.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
from safetensors import SafetensorError

from seg.files import REPO, atomic_write
from seg.model.config import NetConfig

CHECKPOINT_DIR = REPO / "checkpoints"


class CheckpointError(RuntimeError):
    pass


def train_command(name: str) -> str:
    return f"python train.py --model {name}"


def siblings(weights_path) -> dict:
    """`paths()` of the checkpoint whose weights file this is."""
    weights_path = Path(weights_path)
    return paths(weights_path.parent, weights_path.stem)


def paths(out_dir, name: str) -> dict:
    out_dir = Path(out_dir)
    return {
        "weights": out_dir / f"{name}.safetensors",
        "meta": out_dir / f"{name}.json",
        "snapshots": out_dir / f"{name}.snapshots.npz",
        "resume": out_dir / f"{name}.resume.pt",
    }


def save_checkpoint(out_dir, name: str, model, meta: dict, snapshots=None, samples=None) -> None:
    """Weights, metadata and (when given) the per-epoch masks: `snapshots` of the fixed
    validation images, `samples` of the bundled sample photo."""
    from safetensors.torch import save_file

    p = paths(out_dir, name)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write(p["weights"], lambda tmp: save_file(state, str(tmp), metadata={"model": name}))
    if snapshots is not None:
        arrays = {"masks": np.stack([s.numpy() for s in snapshots]).astype(np.uint8)}
        if samples is not None:
            arrays["sample"] = np.stack([s.numpy() for s in samples]).astype(np.uint8)
        atomic_write(p["snapshots"], lambda tmp: np.savez_compressed(open(tmp, "wb"), **arrays))
    save_meta(out_dir, name, meta)


def save_meta(out_dir, name: str, meta: dict) -> None:
    """The metadata file alone (e.g. test metrics added to a finished run)."""
    text = meta_json(meta)
    atomic_write(paths(out_dir, name)["meta"], lambda tmp: tmp.write_text(text))


def meta_json(value, depth: int = 0) -> str:
    """JSON indented by one space a level, as json.dumps(indent=1) writes it, except that a list of
    numbers, or of lists of numbers, stays on one line: a per-image confusion matrix is a line,
    not fifteen."""
    pad, inner = " " * depth, " " * (depth + 1)
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(k)}: {meta_json(v, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and value and not all(map(flat, value)):
        return "[\n" + ",\n".join(inner + meta_json(v, depth + 1) for v in value) + f"\n{pad}]"
    return json.dumps(value, allow_nan=True)


def flat(value) -> bool:
    """A number, a string, None, or a list of these."""
    if isinstance(value, list):
        return not any(isinstance(v, (list, dict)) for v in value)
    return not isinstance(value, dict)


def read_meta(weights_path) -> dict:
    meta_path = siblings(weights_path)["meta"]
    if not meta_path.exists():
        raise CheckpointError(f"{meta_path}: metadata file is missing")
    try:
        return json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{meta_path}: not valid JSON ({err})") from None


def load_checkpoint(weights_path):
    """(model in eval mode, metadata), or CheckpointError naming the file that is wrong."""
    import torch
    from safetensors.torch import load_file

    from seg.model.factory import build

    weights_path = Path(weights_path)
    if not weights_path.exists():
        name = weights_path.stem
        raise CheckpointError(f"{weights_path}: missing; create it with `{train_command(name)}`")
    meta, meta_path = read_meta(weights_path), siblings(weights_path)["meta"]
    try:
        state = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{weights_path}: unreadable safetensors ({err})") from None
    try:
        config = NetConfig.from_meta(meta)
        with torch.device("meta"):  # no random initialisation to overwrite: the checkpoint's tensors become the net's
            model = build(config)
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{meta_path}: bad metadata ({err})") from None
    try:
        model.load_state_dict(state, strict=True, assign=True)
        if any(t.is_meta for t in itertools.chain(model.parameters(), model.buffers())):  # one no file holds
            model = build(config)
            model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[:3]
        raise CheckpointError(
            f"{weights_path}: weights do not fit {meta['model']} as described in its JSON: "
            + " ".join(line.strip() for line in first)
        ) from None
    params = sum(p.numel() for p in model.parameters())
    if meta.get("params") != params:
        raise CheckpointError(
            f"{meta_path}: says {meta.get('params')} parameters, "
            f"the weights have {params}"
        )
    return model.eval(), meta


def load_snapshots(weights_path, key: str = "masks") -> np.ndarray | None:
    """Per-epoch predicted masks, uint8: "masks" of the fixed validation images (epochs, images,
    H, W), "sample" of the bundled sample photo (epochs, H, W); None where not kept."""
    path = siblings(weights_path)["snapshots"]
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as data:
        return data[key] if key in data.files else None


def save_resume(out_dir, name: str, state: dict) -> None:
    import torch

    atomic_write(paths(out_dir, name)["resume"], lambda tmp: torch.save(state, tmp))


def load_resume(out_dir, name: str) -> dict | None:
    import torch

    path = paths(out_dir, name)["resume"]
    if not path.exists():
        return None
    try:
        return torch.load(path, weights_only=True)
    except Exception as err:  # any damage to the file means: cannot resume from it
        raise CheckpointError(f"{path}: cannot resume from it ({err})") from None
