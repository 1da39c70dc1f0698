"""U-Net (Ronneberger et al., 2015) built from the one conv factory, regular or depthwise-separable.

The classic encoder-decoder with skip connections: two 3x3 ConvBNReLU per level, max-pooling
down, a 2x2 transposed convolution up, the encoder's feature map concatenated before each
decoder level, and a 1x1 head. As in the SegNet, an input BatchNorm2d(3) stands in for dataset
normalisation and the head has a bias. Narrower than the paper's (base width 32, not 64) so a
pair trains on 2 CPU cores in the time the project allows. The kind is chosen per double conv
(config.py's UNET_BLOCK_NAMES); the transposed convs and the 1x1 head stay regular, as
seg.dsc.convert leaves them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seg.model.config import MIN_SIZE, UNET_DEPTH, NetConfig, unet_widths
from seg.model.layers import ConvBNReLU


def double_conv(kind: str, in_ch: int, out_ch: int, kernel_size: int) -> nn.Sequential:
    return nn.Sequential(ConvBNReLU(kind, in_ch, out_ch, kernel_size), ConvBNReLU(kind, out_ch, out_ch, kernel_size))


class UNet(nn.Module):
    def __init__(self, config: NetConfig):
        super().__init__()
        if config.architecture != "unet":
            raise ValueError(f"UNet needs a U-Net config; got architecture {config.architecture!r}")
        self.config, self.kinds, self.kernel_size = config, config.kinds, config.kernel_size
        self.base_channels, self.num_classes = config.base_channels, config.num_classes
        widths, k = unet_widths(config.base_channels), config.kernel_size
        # up_kinds[i]: decoder level i (the config lists the decoder from the deepest level out)
        down_kinds, up_kinds = config.kinds[:UNET_DEPTH + 1], config.kinds[UNET_DEPTH + 1:][::-1]
        self.input_bn = nn.BatchNorm2d(3)
        ins = [3, *widths[:-1]]  # each level's input: the photo, then the level above
        self.encoder = nn.ModuleList([double_conv(down_kinds[i], ins[i], widths[i], k) for i in range(UNET_DEPTH + 1)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in range(UNET_DEPTH)])
        self.decoder = nn.ModuleList([double_conv(up_kinds[i], 2 * widths[i], widths[i], k) for i in range(UNET_DEPTH)])
        self.head = nn.Conv2d(widths[0], config.num_classes, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] < MIN_SIZE or x.shape[-2] < MIN_SIZE:
            raise ValueError(f"input is {x.shape[-2]}x{x.shape[-1]}; this U-Net pools {UNET_DEPTH} times and needs "
                             f"at least {MIN_SIZE}x{MIN_SIZE} (resize the image up)")
        x = self.input_bn(x)
        skips = []
        for level, block in enumerate(self.encoder):
            x = block(x if level == 0 else self.pool(x))
            skips.append(x)
        skips.pop()  # the bottleneck's output is x itself
        for level in reversed(range(UNET_DEPTH)):
            skip = skips.pop()
            x = self.decoder[level](torch.cat([skip, fit(self.up[level](x), skip)], dim=1))
        return self.head(x)


def fit(up: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
    """Pad the upsampled map to its skip's size: pooling floors an odd side, doubling it back is one
    short (as in the common PyTorch U-Nets). Sides divisible by 16 need no padding, and get no Pad op."""
    dy, dx = skip.shape[-2] - up.shape[-2], skip.shape[-1] - up.shape[-1]
    return F.pad(up, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2]) if dy or dx else up
