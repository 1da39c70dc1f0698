"""The one place that decides what a "regular" and a "dsc" convolution are."""

from __future__ import annotations

from torch import nn

from seg.model.config import CONV_KINDS, check_choice, check_kernel, check_positive


class SeparableConv2d(nn.Module):
    """Depthwise k x k (one filter per input channel) then pointwise 1 x 1, as in timm. The
    depthwise conv takes the spatial arguments (stride, padding — size-preserving by default —,
    dilation, padding mode), the pointwise conv the bias: seg.dsc.convert builds one in place of
    any nn.Conv2d this way, with the same output shape."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size, bias: bool = False, stride=1, padding=None,
                 dilation=1, padding_mode: str = "zeros"):
        super().__init__()
        if padding is None:
            padding = kernel_size // 2 if isinstance(kernel_size, int) else tuple(k // 2 for k in kernel_size)
        self.conv_dw = nn.Conv2d(in_ch, in_ch, kernel_size, stride=stride, padding=padding, dilation=dilation,
                                 groups=in_ch, bias=False, padding_mode=padding_mode)
        self.conv_pw = nn.Conv2d(in_ch, out_ch, 1, bias=bias)

    def forward(self, x):
        return self.conv_pw(self.conv_dw(x))


def create_conv2d(kind: str, in_ch: int, out_ch: int, kernel_size: int, bias: bool = False):
    """A size-preserving convolution of the given kind."""
    check_choice("kind", kind, CONV_KINDS)
    check_kernel(kernel_size)
    check_positive("in_channels", in_ch)
    check_positive("out_channels", out_ch)
    if kind == "dsc":
        return SeparableConv2d(in_ch, out_ch, kernel_size, bias=bias)
    return nn.Conv2d(in_ch, out_ch, kernel_size, padding=kernel_size // 2, bias=bias)


class ConvBNReLU(nn.Sequential):
    """conv, BatchNorm, ReLU. A Sequential (children 0, 1, 2) so checkpoints keep their keys;
    code reaches the parts by name: `.conv`, `.bn`, `.act`, and swaps them with `replace`."""

    PARTS = ("conv", "bn", "act")

    def __init__(self, kind: str, in_ch: int, out_ch: int, kernel_size: int):
        super().__init__(
            create_conv2d(kind, in_ch, out_ch, kernel_size),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )

    conv = property(lambda self: self[0])
    bn = property(lambda self: self[1])
    act = property(lambda self: self[2])

    def replace(self, **parts: nn.Module) -> None:
        for name, module in parts.items():
            self[self.PARTS.index(name)] = module


def build_stack(kind: str, channels: int, kernel_size: int, layers: int) -> nn.Sequential:
    """The cost calculator's halving/doubling stack as real layers (for torchinfo checks)."""
    modules = []
    for i in range(layers):
        modules.append(create_conv2d(kind, channels << i, channels << (i + 1), kernel_size))
        if i < layers - 1:
            modules.append(nn.MaxPool2d(2))
    return nn.Sequential(*modules)
