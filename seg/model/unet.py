"""U-Net (Ronneberger et al., 2015) built from the one conv factory, regular or depthwise-separable.

The classic encoder-decoder with skip connections: two 3x3 ConvBNReLU per level, max-pooling
down, a 2x2 transposed convolution up, the encoder's feature map concatenated before each
decoder level, and a 1x1 head. As in the SegNet, an input BatchNorm2d(3) stands in for dataset
normalisation and the head has a bias. Narrower than the paper's (base width 32, not 64) so a
pair trains on 2 CPU cores in the time the project allows. Not yet a shipped variant: its
checkpoints are still to be trained.
"""

from __future__ import annotations

import torch
from torch import nn

from seg.model.layers import ConvBNReLU


def double_conv(kind: str, in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(ConvBNReLU(kind, in_ch, out_ch, 3), ConvBNReLU(kind, out_ch, out_ch, 3))


class UNet(nn.Module):
    def __init__(self, kind: str = "regular", base_channels: int = 32, depth: int = 4, num_classes: int = 3):
        super().__init__()
        widths = [base_channels << level for level in range(depth + 1)]  # 32, 64, 128, 256, 512
        self.depth = depth
        self.input_bn = nn.BatchNorm2d(3)
        self.encoder = nn.ModuleList([double_conv(kind, 3, widths[0])] +
                                     [double_conv(kind, widths[i - 1], widths[i]) for i in range(1, depth + 1)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in range(depth)])
        self.decoder = nn.ModuleList([double_conv(kind, 2 * widths[i], widths[i]) for i in range(depth)])
        self.head = nn.Conv2d(widths[0], num_classes, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        multiple = 1 << self.depth
        if x.shape[-1] % multiple or x.shape[-2] % multiple:
            raise ValueError(f"input is {x.shape[-2]}x{x.shape[-1]}; this U-Net pools {self.depth} times and "
                             f"needs sides divisible by {multiple}")
        x = self.input_bn(x)
        skips = []
        for level, block in enumerate(self.encoder):
            x = block(x if level == 0 else self.pool(x))
            skips.append(x)
        skips.pop()  # the bottleneck's output is x itself
        for level in reversed(range(self.depth)):
            x = self.decoder[level](torch.cat([skips.pop(), self.up[level](x)], dim=1))
        return self.head(x)
