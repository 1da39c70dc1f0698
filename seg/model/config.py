"""The nets' shapes (the SegNet's and the U-Net's) and the checks on every user-facing argument.

Torch-free on purpose: the cost model (and so the cost calculator and its CLI) reads
the same layout as the model builder without paying for `import torch`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

CONV_KINDS = ("regular", "dsc")
KERNEL_SIZES = (1, 3, 5, 7)  # what the app offers; any odd positive kernel is valid
NUM_POOLS = 4
MIN_SIZE = 2**NUM_POOLS  # four 2x2 poolings need at least 16 px on each side

# The seed's SegNet-Basic encoder at base width 64; "M" is a 2x2 max-pool with indices.
ENCODER_CFG = (1, 1, "M", 2, 2, "M", 4, 4, 4, "M", 8, 8, 8, "M")

# Forward order: the four encoder blocks, then the decoder from the deepest block out.
BLOCK_NAMES = ("enc1", "enc2", "enc3", "enc4", "dec4", "dec3", "dec2", "dec1")
# The U-Net's double convs, in forward order: four encoder levels, the bottleneck, four decoder levels.
UNET_BLOCK_NAMES = ("enc1", "enc2", "enc3", "enc4", "mid", "dec4", "dec3", "dec2", "dec1")
ARCHITECTURES = {"segnet": BLOCK_NAMES, "unet": UNET_BLOCK_NAMES}
DEFAULT_WIDTH = {"segnet": 64, "unet": 32}  # enc1's width; the U-Net's is half the paper's so it trains here



@dataclass(frozen=True)
class ConvSpec:
    """One convolution of the net: channels in and out, and whether it is the logits head."""

    in_ch: int
    out_ch: int
    head: bool = False  # the last layer: a plain conv with bias, no BatchNorm or ReLU


def check_choice(name: str, value, allowed: Sequence) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")


def check_kernel(kernel_size, name: str = "kernel_size") -> int:
    if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(
            f"{name} must be a positive odd integer (e.g. {', '.join(map(str, KERNEL_SIZES))}) "
            f"so that padding k//2 keeps the size; got {kernel_size!r}"
        )
    return kernel_size


def check_positive(name: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return value


def check_size(size, *, min_size: int = MIN_SIZE) -> tuple[int, int]:
    """Accept 128, (100, 150) or "100x150"; return (height, width)."""
    if isinstance(size, str):
        parts = size.lower().split("x")
        try:
            size = tuple(int(p) for p in parts) if len(parts) == 2 else int(size)
        except ValueError:
            raise ValueError(f"size must be N or HxW with integers; got {size!r}") from None
    hw = (size, size) if isinstance(size, int) else tuple(size)
    if len(hw) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in hw):
        raise ValueError(f"size must be an integer or (height, width); got {size!r}")
    if min(hw) < min_size:
        raise ValueError(f"size must be at least {min_size} px on each side; got {hw[0]}x{hw[1]}")
    return hw


def resolve_kinds(kinds, blocks: tuple[str, ...] = BLOCK_NAMES) -> tuple[str, ...]:
    """One kind for the whole net, or one per block (the SegNet's 8, in BLOCK_NAMES order)."""
    if isinstance(kinds, str):
        check_choice("kind", kinds, CONV_KINDS)
        return (kinds,) * len(blocks)
    kinds = tuple(kinds)
    if len(kinds) != len(blocks):
        raise ValueError(
            f"kinds must be one kind or a list of {len(blocks)} "
            f"({', '.join(blocks)}); got {len(kinds)}"
        )
    for block, kind in zip(blocks, kinds):
        check_choice(f"kind of block {block}", kind, CONV_KINDS)
    return kinds


@dataclass(frozen=True)
class NetConfig:
    """Everything that decides a net's shape; saved with every checkpoint, rebuilt on load."""

    kinds: tuple[str, ...] = ("regular",) * len(BLOCK_NAMES)  # per block, in the architecture's order
    kernel_size: int = 3
    base_channels: int | None = None  # enc1's width (None: the architecture's); deeper blocks 2x, 4x, 8x
    num_classes: int = 3  # pet, background, border
    architecture: str = "segnet"  # or "unet"

    def __post_init__(self):
        check_choice("architecture", self.architecture, tuple(ARCHITECTURES))
        object.__setattr__(self, "kinds", resolve_kinds(self.kinds, self.blocks))  # "dsc" -> one per block
        if self.base_channels is None:
            object.__setattr__(self, "base_channels", DEFAULT_WIDTH[self.architecture])
        check_kernel(self.kernel_size)
        check_positive("base_channels", self.base_channels)
        check_positive("num_classes", self.num_classes)

    @property
    def blocks(self) -> tuple[str, ...]:
        return ARCHITECTURES[self.architecture]

    def to_meta(self) -> dict:
        """The metadata fields of a checkpoint that describe its model."""
        return {"architecture": self.architecture, "kinds": dict(zip(self.blocks, self.kinds)),
                "kernel_size": self.kernel_size, "base_channels": self.base_channels, "num_classes": self.num_classes}

    @classmethod
    def from_meta(cls, meta: dict) -> "NetConfig":
        architecture = meta.get("architecture", "segnet")  # checkpoints before the U-Net say nothing
        check_choice("architecture", architecture, tuple(ARCHITECTURES))
        return cls(kinds=[meta["kinds"][b] for b in ARCHITECTURES[architecture]], architecture=architecture,
                   kernel_size=meta["kernel_size"], base_channels=meta["base_channels"],
                   num_classes=meta["num_classes"])


UNET_DEPTH = 4  # the U-Net's poolings: UNET_BLOCK_NAMES has 4 encoder levels, the bottleneck, 4 decoder ones


def unet_widths(base_channels: int) -> list[int]:
    """The U-Net's width per level, enc1 to the bottleneck: 32, 64, 128, 256, 512 at base width 32."""
    return [base_channels << level for level in range(UNET_DEPTH + 1)]


def dsc_in(*blocks: str) -> tuple[str, ...]:
    """Per-block kinds with DSC in the named blocks and regular convolutions elsewhere."""
    for block in blocks:
        check_choice("block", block, BLOCK_NAMES)
    return tuple("dsc" if b in blocks else "regular" for b in BLOCK_NAMES)


def segnet_layout(base_channels: int = 64, num_classes: int = 3, in_channels: int = 3):
    """Per block, the convolutions in forward order: encoder from ENCODER_CFG, decoder its mirror."""
    check_positive("base_channels", base_channels)
    check_positive("num_classes", num_classes)
    encoder, block, ch = [], [], in_channels
    for item in ENCODER_CFG:
        if item == "M":
            encoder.append(block)
            block = []
        else:
            block.append(ConvSpec(ch, item * base_channels))
            ch = item * base_channels
    # The decoder undoes each encoder block: its convs reversed with channels swapped, so
    # every decoder block ends at the width its encoder twin started from.
    decoder = [[ConvSpec(c.out_ch, c.in_ch) for c in reversed(b)] for b in reversed(encoder)]
    last = decoder[-1][-1]
    decoder[-1][-1] = ConvSpec(last.in_ch, num_classes, head=True)
    return encoder + decoder
