"""The U-Net pair: the classic shape from the one conv factory, any photo size, the converter and
the factory agree, and the analytic cost model counts it exactly."""

from __future__ import annotations

import pytest
import torch
import torchinfo

from seg.dsc import convert, report
from seg.model.config import NetConfig
from seg.model.cost import model_cost
from seg.model.factory import create_model
from seg.model.layers import SeparableConv2d

UNETS = ["unet_regular", "unet_dsc"]


@pytest.mark.parametrize("name", UNETS)
@pytest.mark.parametrize("size", [(128, 128), (100, 150), (17, 33)])
def test_a_mask_of_logits_at_any_input_size(name, size):
    model = create_model(name, base_channels=8).eval()
    with torch.no_grad():
        assert model(torch.rand(2, 3, *size)).shape == (2, 3, *size)
    assert any(isinstance(m, SeparableConv2d) for m in model.modules()) == name.endswith("dsc")


def test_the_converter_and_the_factory_agree_on_the_unet():
    shapes = lambda m: [(k, tuple(v.shape)) for k, v in m.state_dict().items()]  # noqa: E731
    assert shapes(convert(create_model("unet_regular"))) == shapes(create_model("unet_dsc"))


@pytest.mark.parametrize("name", UNETS)
@pytest.mark.parametrize("size", [(128, 128), (100, 150), (17, 33)])
def test_the_cost_model_counts_what_torchinfo_counts(name, size):
    measured = torchinfo.summary(create_model(name), input_size=(1, 3, *size), verbose=0)
    totals = model_cost(name, size)["totals"]
    assert (totals["params"], totals["mult_adds"]) == (measured.total_params, measured.total_mult_adds)


def test_the_pair_at_128_and_what_dsc_saves():
    regular, dsc = (model_cost(n)["totals"] for n in UNETS)
    assert (regular["params"], regular["mult_adds"]) == (7_763_113, 3_422_541_574)
    assert (dsc["params"], dsc["mult_adds"]) == (1_513_508, 898_160_390)
    totals = report(create_model("unet_regular"), (3, 128, 128))["totals"]  # the converter's own count agrees
    assert (totals["params_after"], totals["mult_adds_after"]) == (dsc["params"], dsc["mult_adds"])


def test_its_blocks_in_forward_order_and_their_kinds():
    cost = model_cost("unet_dsc")
    assert [b["block"] for b in cost["blocks"]] == ["input", "enc1", "enc2", "enc3", "enc4", "mid",
                                                    "dec4", "dec3", "dec2", "dec1"]
    assert {b["kind"] for b in cost["blocks"][1:]} == {"dsc"}
    assert [b["height"] for b in cost["blocks"][1:]] == [128, 64, 32, 16, 8, 16, 32, 64, 128]


def test_its_metadata_names_the_architecture_and_older_checkpoints_mean_segnet():
    config = create_model("unet_dsc").config
    meta = config.to_meta()
    assert meta["architecture"] == "unet" and meta["base_channels"] == 32 and len(meta["kinds"]) == 9
    assert NetConfig.from_meta(meta) == config
    segnet_meta = create_model("segnet_dsc").config.to_meta()
    del segnet_meta["architecture"]  # as every checkpoint written before the U-Net
    assert NetConfig.from_meta(segnet_meta).architecture == "segnet"
    with pytest.raises(ValueError, match="architecture must be one of segnet, unet"):
        NetConfig.from_meta({**meta, "architecture": "resnet"})


def test_a_side_it_cannot_pool_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="needs at least 16x16"):
        create_model("unet_regular", base_channels=4)(torch.rand(1, 3, 12, 128))


def test_the_edge_unpooling_export_is_refused_for_a_net_without_unpooling():
    from seg.deploy.targets import ExportError, check_target

    assert check_target("unet_dsc", "onnx").unpool == "maxunpool"  # the default: nothing to rewrite
    with pytest.raises(ExportError, match="unet_dsc has none"):
        check_target("unet_dsc", "onnx", unpool="edge")
