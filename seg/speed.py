"""The speed choices, each measured by bench.py: memory layout, and what inference runs."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .layers import SeparableConv2d

# bench.py's "train step" rows on 2 CPU cores: channels_last was faster for both variants
# (regular ~1.0 vs 1.3 s, DSC ~0.37 vs 0.62 s per batch of 8 at 128x128). On CUDA
# channels_last is what cuDNN's NHWC kernels want under AMP.
CHANNELS_LAST_TRAINING = {"segnet_regular": True, "segnet_dsc": True}


def training_layout(name: str, device: torch.device) -> bool:
    """True where this variant should train in channels_last."""
    return CHANNELS_LAST_TRAINING.get(name, True)


def fast_path(model: nn.Module) -> nn.Module:
    """What the app runs: eval mode in channels_last, bit-identical to eager NCHW here.

    BatchNorm folding (below) is faster but not the same answer: its last-bit rounding
    changes flip MaxPool's choice between near-equal values, MaxUnpool then puts the
    activation elsewhere, and logits move by up to ~0.3 (bench.py reports its speed).
    """
    return model.eval().to(memory_format=torch.channels_last)


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Fold every block BatchNorm into the conv before it (eval only)."""
    for block in [*model.encoder, *model.decoder]:
        for layer in block:  # ConvBNReLU: conv, bn, relu
            conv, bn = layer[0], layer[1]
            if isinstance(conv, SeparableConv2d):
                conv.conv_pw = fuse_conv_bn_eval(conv.conv_pw, bn)
            else:
                layer[0] = fuse_conv_bn_eval(conv, bn)
            layer[1] = nn.Identity()
    return model
