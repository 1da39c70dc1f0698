"""The speed choices, each measured by bench.py: memory layout, and what inference runs."""

from __future__ import annotations

import copy
import platform
import statistics
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .layers import SeparableConv2d

# bench.py's "train step" rows on 2 CPU cores: channels_last was faster for both variants
# (regular ~1.0 vs 1.3 s, DSC ~0.37 vs 0.62 s per batch of 8 at 128x128). On CUDA
# channels_last is what cuDNN's NHWC kernels want under AMP; MPS gains nothing from it.
# CPU flags that mean bf16 arithmetic in hardware. oneDNN also reports bf16 "supported" on
# plain AVX-512 (Ice Lake), where it is emulated and trains 2-3x slower than fp32.
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def training_layout(device: torch.device) -> bool:
    """True where training should run in channels_last."""
    return device.type in ("cpu", "cuda")


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str]:
    """The x86 feature flags of /proc/cpuinfo (empty where there is no such file)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return frozenset()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def cpu_name(cpuinfo: str | None = None) -> str:
    """The CPU's model name, as lscpu shows it (every training and speed figure names it)."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text() if cpuinfo is None else cpuinfo
    except OSError:
        return platform.processor() or platform.machine()
    for line in cpuinfo.splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


def bf16_autocast_helps(device: torch.device, flags: frozenset[str] | None = None) -> bool:
    """Train under bf16 autocast only where the hardware does bf16 natively: a CUDA GPU that
    supports it, or a CPU with AVX512-BF16 or AMX (bench.py: 2-6x faster steps there)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    return bool(NATIVE_BF16_FLAGS & (cpu_flags() if flags is None else flags))


def precision_note(device: torch.device, autocast: bool) -> str:
    """Why training runs in the precision it does, for the start-of-run line."""
    if not autocast:
        return "fp32"
    found = sorted(NATIVE_BF16_FLAGS & cpu_flags()) if device.type == "cpu" else [device.type]
    return f"bf16 autocast ({', '.join(found) or 'forced'})"


def fast_path(model: nn.Module, input_size: int = 128) -> nn.Module:
    """What the app runs: BatchNorm folded into the convs, channels_last, and (where oneDNN is
    there) weights pre-packed with each ReLU fused into its conv.

    The same function up to float rounding (block outputs agree with eager NCHW to ~1e-5);
    bench.py times each step. Not bit-identical to eager: SegNet's MaxPool picks the larger
    of near-equal values and MaxUnpool puts it back there, so a last-bit difference can move
    an activation by a pixel and a few mask pixels flip (27 of 1.57M on 96 real test images,
    all in the regular model). tests/test_shipped.py checks both statements on real test images.
    """
    model = fold_batchnorm(model.eval()).to(memory_format=torch.channels_last)
    if hasattr(torch.ops.mkldnn, "_convolution_pointwise") and torch.backends.mkldnn.is_available():
        model = pack_for_onednn(model, input_size)
    return model


class OneDNNConv(nn.Module):
    """A conv whose weights oneDNN packed once, optionally with the following ReLU fused in:
    the same arithmetic as Conv2d + ReLU, without re-packing weights or a ReLU pass per call."""

    def __init__(self, conv: nn.Conv2d, relu: bool, input_shape):
        super().__init__()
        self.groups = conv.groups
        self.args = (list(conv.padding), list(conv.stride), list(conv.dilation), conv.groups)
        weight = conv.weight.detach().contiguous(memory_format=torch.channels_last)
        self.weight = torch.ops.mkldnn._reorder_convolution_weight(weight, *self.args, list(input_shape))
        self.bias = None if conv.bias is None else conv.bias.detach()
        self.attr = "relu" if relu else "none"

    def forward(self, x):
        return torch.ops.mkldnn._convolution_pointwise(x, self.weight, self.bias, *self.args, self.attr, [], "")


@torch.inference_mode()
def pack_for_onednn(model: nn.Module, input_size: int) -> nn.Module:
    """Swap every block conv (already BN-folded) for a packed one with its ReLU fused."""
    shapes, hooks = {}, []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            hooks.append(module.register_forward_hook(lambda m, i, o: shapes.__setitem__(m, i[0].shape)))
    model(torch.zeros(1, 3, input_size, input_size).contiguous(memory_format=torch.channels_last))
    for hook in hooks:
        hook.remove()
    for block in [*model.encoder, *model.decoder]:
        for layer in block:  # folded ConvBNReLU: conv, Identity, ReLU
            conv = layer[0]
            if isinstance(conv, SeparableConv2d):
                conv.conv_dw = OneDNNConv(conv.conv_dw, False, shapes[conv.conv_dw])
                conv.conv_pw = OneDNNConv(conv.conv_pw, True, shapes[conv.conv_pw])
            else:
                layer[0] = OneDNNConv(conv, True, shapes[conv])
            layer[2] = nn.Identity()
    return model


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
    """Batch-1 latency of a regular and a DSC SegNet (eval-mode, unoptimised) per input size,
    each through the app's fast path prepared for that size, beside their mult-add ratio."""
    from .cost import segnet_cost
    from .inference import predict_logits

    rows = []
    for size in sizes:
        x = torch.rand(1, 3, size, size)
        fast_reg, fast_dsc = (fast_path(copy.deepcopy(m), size) for m in (reg, dsc))  # packed for this size
        times = interleaved({"reg": lambda: predict_logits(fast_reg, x), "dsc": lambda: predict_logits(fast_dsc, x)},
                            reps if size <= 256 else max(3, reps // 3))
        reg_s, dsc_s = statistics.median(times["reg"]), statistics.median(times["dsc"])
        macs = [segnet_cost(m.kinds, size, m.kernel_size, m.base_channels, m.num_classes)["totals"]["mult_adds"]
                for m in (reg, dsc)]
        rows.append({"size": size, "regular_ms": reg_s * 1000, "dsc_ms": dsc_s * 1000,
                     "latency_ratio": reg_s / dsc_s, "mult_adds_ratio": macs[0] / macs[1]})
    return rows
