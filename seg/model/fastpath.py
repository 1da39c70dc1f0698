"""The app's inference path: BatchNorm folded, channels_last, oneDNN-packed convs with fused ReLU.

`fast_path(model)` returns a new module and leaves the trained one untouched; bench.py times
each step of it against eager PyTorch.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from seg.model.layers import ConvBNReLU, SeparableConv2d


def fast_path(model: nn.Module, input_size: int = 128) -> nn.Module:
    """What the app runs: BatchNorm folded into the convs, channels_last, and (where oneDNN is
    there) weights pre-packed with each ReLU fused into its conv.

    The same function up to float rounding (block outputs agree with eager NCHW to ~1e-5);
    bench.py times each step. Not bit-identical to eager: SegNet's MaxPool picks the larger
    of near-equal values and MaxUnpool puts it back there, so a last-bit difference can move
    an activation by a pixel and a few mask pixels flip (bench.py's "App path vs eager" line counts
    them on 96 real test images). tests/test_shipped.py checks both statements on real test images.
    """
    model = fold_batchnorm(model).to(memory_format=torch.channels_last)
    if hasattr(torch.ops.mkldnn, "_convolution_pointwise") and torch.backends.mkldnn.is_available():
        _pack_for_onednn(model, input_size)
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


def conv_bn_relus(model: nn.Module) -> list[ConvBNReLU]:
    return [m for m in model.modules() if isinstance(m, ConvBNReLU)]


@torch.inference_mode()
def _pack_for_onednn(model: nn.Module, input_size: int) -> None:
    """In place: swap every block conv (already BN-folded) for a packed one with its ReLU fused."""
    shapes, hooks = {}, []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            hooks.append(module.register_forward_hook(lambda m, i, o: shapes.__setitem__(m, i[0].shape)))
    model(torch.zeros(1, 3, input_size, input_size).contiguous(memory_format=torch.channels_last))
    for hook in hooks:
        hook.remove()
    for layer in conv_bn_relus(model):
        conv = layer.conv
        if isinstance(conv, SeparableConv2d):
            conv.conv_dw = OneDNNConv(conv.conv_dw, False, shapes[conv.conv_dw])
            conv.conv_pw = OneDNNConv(conv.conv_pw, True, shapes[conv.conv_pw])
        else:
            layer.replace(conv=OneDNNConv(conv, True, shapes[conv]))
        layer.replace(act=nn.Identity())


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy in eval mode with every block BatchNorm folded into the conv before it."""
    model = copy.deepcopy(model).eval()
    for layer in conv_bn_relus(model):
        conv = layer.conv
        if isinstance(conv, SeparableConv2d):
            conv.conv_pw = fuse_conv_bn_eval(conv.conv_pw, layer.bn)
        else:
            layer.replace(conv=fuse_conv_bn_eval(conv, layer.bn))
        layer.replace(bn=nn.Identity())
    return model
