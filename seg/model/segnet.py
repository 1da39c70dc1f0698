"""SegNet-Basic built from regular or depthwise-separable convolutions, per block."""

from __future__ import annotations

import torch
from torch import nn

from seg.model.config import MIN_SIZE, NetConfig, segnet_layout
from seg.model.layers import ConvBNReLU, create_conv2d


class SegNet(nn.Module):
    """Encoder from the config list, decoder its mirror, MaxUnpool with the pre-pool size.

    Seed tweaks: an input BatchNorm2d(3) replaces dataset normalisation. Unlike the seed the
    head is a plain conv with bias, so the net outputs real (possibly negative) logits.
    """

    def __init__(self, config: NetConfig):
        super().__init__()
        self.config = config
        self.kinds, kernel_size = config.kinds, config.kernel_size
        self.kernel_size, self.base_channels, self.num_classes = kernel_size, config.base_channels, config.num_classes
        layout = segnet_layout(config.base_channels, config.num_classes)
        self.input_bn = nn.BatchNorm2d(3)
        blocks = []
        for kind, convs in zip(self.kinds, layout):
            layers = [ConvBNReLU(kind, c.in_ch, c.out_ch, kernel_size) for c in convs if not c.head]
            blocks += [nn.Sequential(*layers)]
        self.encoder = nn.ModuleList(blocks[:4])
        self.decoder = nn.ModuleList(blocks[4:])
        head = layout[-1][-1]
        self.head = create_conv2d(self.kinds[-1], head.in_ch, head.out_ch, kernel_size, bias=True)
        self.pool = nn.MaxPool2d(2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] < MIN_SIZE or x.shape[-2] < MIN_SIZE:
            raise ValueError(
                f"input is {x.shape[-2]}x{x.shape[-1]}; SegNet pools four times and needs "
                f"at least {MIN_SIZE}x{MIN_SIZE} (resize the image up)"
            )
        x = self.input_bn(x)
        skips = []
        for block in self.encoder:
            x = block(x)
            size = x.shape[-2:]
            x, indices = self.pool(x)
            skips.append((indices, size))
        for block in self.decoder:
            indices, size = skips.pop()
            # output_size restores odd sizes that the floor of pooling lost.
            x = block(self.unpool(x, indices, output_size=size))
        return self.head(x)
