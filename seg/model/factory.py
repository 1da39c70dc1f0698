"""Every net is built here: a config to a module, a variant's name to a fresh net."""

from __future__ import annotations

from torch import nn

from seg.model.config import NetConfig
from seg.model.segnet import SegNet
from seg.model.unet import UNet
from seg.model.variants import variant_config

BUILDERS = {"segnet": SegNet, "unet": UNet}


def build(config: NetConfig) -> nn.Module:
    return BUILDERS[config.architecture](config)


def create_model(name: str, *, kinds=None, kernel_size: int = 3, base_channels: int | None = None,
                 num_classes: int = 3) -> nn.Module:
    """The only entry point: `create_model("segnet_dsc")`, `create_model("unet_regular")`, or
    `segnet_mixed` with 8 kinds."""
    return build(variant_config(name, kinds, kernel_size=kernel_size, base_channels=base_channels,
                                num_classes=num_classes))


def init_weights(model: nn.Module, scheme: str = "default") -> nn.Module:
    """"default" keeps PyTorch's (Kaiming-uniform with a=sqrt(5), i.e. std ~ 1/sqrt(3 fan_in));
    "kaiming" draws He-normal weights by fan_out, as torchvision's VGG and ResNet do."""
    if scheme == "kaiming":
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
    return model
