"""This machine: its CPU's name and flags, and the device, precision and memory layout training uses there.

Each choice is measured by bench.py's training rows; train.py prints them at start. torch is
imported by the two functions that ask it: the app's page names the CPU before torch is imported.
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def pick_device(name: str = "auto") -> torch.device:
    import torch

    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


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
        import torch

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
