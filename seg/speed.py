"""The speed choices, each measured by bench.py: memory layout, and what inference runs."""

from __future__ import annotations

import statistics
import time

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


def bf16_autocast_helps(device: torch.device) -> bool:
    """Train under bf16 autocast where the hardware does bf16 natively: CUDA, or a CPU with
    AVX512-BF16/AMX (bench.py: 2-6x faster steps there; on other CPUs it is slower)."""
    if device.type == "cuda":
        return True
    return device.type == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def fast_path(model: nn.Module) -> nn.Module:
    """What the app runs: BatchNorm folded into the convs, channels_last, eval mode.

    The same function up to float rounding (block outputs agree with eager NCHW to ~1e-5),
    and 5-10% faster than channels_last alone, itself 10% (regular) and 40% (DSC) faster
    than eager. Not bit-identical: SegNet's MaxPool picks the largest of near-equal values
    and MaxUnpool puts it back there, so a last-bit difference can move an activation by a
    pixel and a few mask pixels (0.003% on real test images, all in the regular model) flip.
    tests/test_shipped.py checks both statements on the real test images.
    """
    return fold_batchnorm(model.eval()).to(memory_format=torch.channels_last)


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


def interleaved(fns: dict, reps: int, warmup: int = 2) -> dict:
    """{name: [seconds, ...]}: every fn once per round, so drift hits all alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def latency_by_size(reg, dsc, sizes=(64, 128, 256, 512), reps: int = 10) -> list[dict]:
    """Batch-1 latency of a regular and a DSC SegNet per input size, beside their mult-add ratio."""
    from .cost import segnet_cost
    from .inference import predict_logits

    rows = []
    for size in sizes:
        x = torch.rand(1, 3, size, size)
        times = interleaved({"reg": lambda: predict_logits(reg, x), "dsc": lambda: predict_logits(dsc, x)},
                            reps if size <= 256 else max(3, reps // 3))
        reg_s, dsc_s = statistics.median(times["reg"]), statistics.median(times["dsc"])
        macs = [segnet_cost(m.kinds, size, m.kernel_size, m.base_channels, m.num_classes)["totals"]["mult_adds"]
                for m in (reg, dsc)]
        rows.append({"size": size, "regular_ms": reg_s * 1000, "dsc_ms": dsc_s * 1000,
                     "latency_ratio": reg_s / dsc_s, "mult_adds_ratio": macs[0] / macs[1]})
    return rows
