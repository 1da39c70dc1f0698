"""The U-Net: the classic shape, from the one conv factory, and the converter agrees with it."""

from __future__ import annotations

import pytest
import torch
import torchinfo

from seg.dsc import convert, report
from seg.model.config import NetConfig
from seg.model.layers import SeparableConv2d
from seg.model.unet import UNet


def unet(kind):
    return UNet(NetConfig(kind, architecture="unet"))


@pytest.mark.parametrize("kind", ["regular", "dsc"])
def test_a_mask_of_logits_at_the_input_size(kind):
    model = unet(kind).eval()
    with torch.no_grad():
        assert model(torch.rand(2, 3, 128, 128)).shape == (2, 3, 128, 128)
    assert any(isinstance(m, SeparableConv2d) for m in model.modules()) == (kind == "dsc")


def test_the_converter_and_the_factory_agree_on_the_unet():
    shapes = lambda m: [(k, tuple(v.shape)) for k, v in m.state_dict().items()]  # noqa: E731
    assert shapes(convert(unet("regular"))) == shapes(unet("dsc"))


def test_its_cost_is_exact_and_dsc_saves_most_of_it():
    regular = unet("regular")
    totals = report(regular, (3, 128, 128))["totals"]
    measured = torchinfo.summary(unet("dsc"), input_size=(1, 3, 128, 128), verbose=0)
    assert (totals["params_after"], totals["mult_adds_after"]) == (measured.total_params, measured.total_mult_adds)
    assert totals["params_before"] == sum(p.numel() for p in regular.parameters())
    assert totals["params_after"] < 0.2 * totals["params_before"]


def test_a_side_it_cannot_pool_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="needs sides divisible by 16"):
        unet("regular")(torch.rand(1, 3, 120, 128))
