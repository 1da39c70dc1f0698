"""SegNet's max-unpooling in a form that edge backends take whole.

`MaxUnpool2d` lowers to index arithmetic (arange, index_put, ...) that XNNPACK does not take,
so an exported program left the delegate at every unpooling. Here the encoder keeps, instead of
indices, a 0/1 mask of the position that held each 2×2 window's maximum, and unpooling is
"repeat each value over its window (nearest ×2), times the mask". Everything is a convolution,
a transposed convolution, max-pooling, a product or a clamp:

    tie   = clamp(1 - (up(maxpool(x)) - x) * BIG, 0, 1)      1 where x equals its window's max
    first = tie_k * clamp(1 - sum_{j<k} tie_j, 0, 1)         only the first such k, raster order
    mask  = first scattered back to the window (transposed conv, one-hot weights)
    unpool(y) = up(y) * mask

Ties: where several positions of a window hold the maximum (after a ReLU, an all-zero window),
MaxPool2d's index names the first in raster order, and so does `first`: the outputs are equal
(tests/test_edge.py checks bit-equality on real test images). Values closer than 1/BIG ≈ 1e-38 to
the maximum (denormals only) would count as ties. Windows are 2×2 with stride 2, so every
pooled size must be even (128 → 8 is).

Status: ONNX Runtime runs it with eager's masks (`--unpool edge --format onnx`). XNNPACK takes
the whole program (92% of its operator nodes, the rest constant copies) but its answers differ
(80% of mask pixels agree on test images) and it is slower than MaxUnpool's partial delegation;
`seg.export` refuses to keep such a file. Finding which lowered op departs is open work.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seg.model.config import segnet_layout
from seg.model.segnet import SegNet

BIG = 1e38  # below float32's max (3.4e38): any real gap times BIG saturates the clamp


class WindowMax(nn.Module):
    """2×2 max-pooling that returns the position mask, and the unpooling that uses it."""

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels
        onehot = torch.eye(4).reshape(4, 1, 2, 2)  # output k picks window position k
        earlier = torch.tril(torch.ones(4, 4), -1).reshape(4, 1, 2, 2)  # output k sums positions j < k
        self.register_buffer("ones", torch.ones(channels, 1, 2, 2))
        self.register_buffer("onehot", onehot.repeat(channels, 1, 1, 1))
        self.register_buffer("earlier", earlier.repeat(channels, 1, 1, 1))

    def up(self, x: torch.Tensor) -> torch.Tensor:
        """Nearest-neighbour ×2, as a depthwise transposed conv with ones."""
        return F.conv_transpose2d(x, self.ones, stride=2, groups=self.channels)

    def pool(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = F.max_pool2d(x, 2)
        tie = torch.clamp(1 - (self.up(pooled) - x) * BIG, 0, 1)
        per_position = F.conv2d(tie, self.onehot, stride=2, groups=self.channels)
        before = F.conv2d(tie, self.earlier, stride=2, groups=self.channels)
        first = per_position * torch.clamp(1 - before, 0, 1)
        return pooled, F.conv_transpose2d(first, self.onehot, stride=2, groups=self.channels)

    def unpool(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.up(x) * mask


class EdgeSegNet(nn.Module):
    """The same SegNet (its modules shared, not copied) with WindowMax in place of pool/unpool."""

    def __init__(self, net: SegNet):
        super().__init__()
        self.net = net
        encoder_out = [convs[-1].out_ch for convs in segnet_layout(net.base_channels, net.num_classes)[:4]]
        self.windows = nn.ModuleList(WindowMax(c) for c in encoder_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(s % 16 for s in x.shape[-2:]):
            raise ValueError(f"EdgeSegNet needs sides divisible by 16, got {tuple(x.shape[-2:])}")
        net, masks = self.net, []
        x = net.input_bn(x)
        for block, window in zip(net.encoder, self.windows):
            x, mask = window.pool(block(x))
            masks.append(mask)
        for block, window in zip(net.decoder, reversed(self.windows)):
            x = block(window.unpool(x, masks.pop()))
        return net.head(x)
