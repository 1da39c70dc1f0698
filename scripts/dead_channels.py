"""How many ReLU channels never fire: evidence for why a run stopped fitting.

    python scripts/dead_channels.py runs/diagnose/seed/segnet_regular.safetensors ...
For each checkpoint, per block and in total: the share of channels whose ReLU output is zero at
every pixel of every validation image (the carve-out of trainval recorded in its metadata).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seg.data.pets import default_data_root  # noqa: E402
from seg.data.splits import load_cached_split, validation_split  # noqa: E402
from seg.model.checkpoint import load_checkpoint  # noqa: E402
from seg.model.config import BLOCK_NAMES  # noqa: E402


@torch.inference_mode()
def dead_share(path) -> dict:
    model, meta = load_checkpoint(path)
    images, _, ids = load_cached_split(default_data_root(), "trainval", meta["input_size"], ".cache")
    x = images[validation_split(ids)[1]].float() / 255
    fired = {}
    relus = [(block, relu) for block, seq in zip(BLOCK_NAMES, [*model.encoder, *model.decoder]) for relu in
             (layer[2] for layer in seq)]
    hooks = [relu.register_forward_hook(lambda m, i, o, key=(b, id(relu)): fired.__setitem__(
        key, fired.get(key, 0) + (o > 0).sum((0, 2, 3)))) for b, relu in relus]
    for batch in x.split(16):
        model(batch)
    for h in hooks:
        h.remove()
    out = {}
    for block in BLOCK_NAMES:
        counts = torch.cat([v for (b, _), v in fired.items() if b == block])
        out[block] = (counts == 0).float().mean().item()
    everything = torch.cat(list(fired.values()))
    out["all"] = (everything == 0).float().mean().item()
    return out


if __name__ == "__main__":
    print("| checkpoint | " + " | ".join([*BLOCK_NAMES, "all"]) + " |")
    print("|---|" + "---:|" * (len(BLOCK_NAMES) + 1))
    for path in sys.argv[1:]:
        share = dead_share(path)
        print(f"| {path} | " + " | ".join(f"{share[k]:.0%}" for k in [*BLOCK_NAMES, "all"]) + " |")
