"""Which memory layout each variant trains and runs fastest in, as bench.py measured it."""

from __future__ import annotations

import torch

# bench.py's "train step" rows on 2 CPU cores: channels_last was faster for both variants
# (regular ~1.0 vs 1.3 s, DSC ~0.37 vs 0.62 s per batch of 8 at 128x128). On CUDA
# channels_last is what cuDNN's NHWC kernels want under AMP.
CHANNELS_LAST_TRAINING = {"segnet_regular": True, "segnet_dsc": True}


def training_layout(name: str, device: torch.device) -> bool:
    """True where this variant should train in channels_last."""
    return CHANNELS_LAST_TRAINING.get(name, True)
