"""Every variant through the same battery: shapes, any resolution, gradients, logits, errors."""

from __future__ import annotations

import pytest
import torch

from seg.model.config import BLOCK_NAMES
from seg.model.factory import create_model
from seg.model.layers import SeparableConv2d, create_conv2d
from seg.model.variants import VARIANTS

NAMES = list(VARIANTS)
MIXED = ["dsc", "regular", "dsc", "regular", "regular", "dsc", "regular", "dsc"]


def params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name, exact, printed", [
    ("segnet_regular", 15_274_889, "15.27M"),
    ("segnet_dsc", 1_749_668, "1.75M"),
])
def test_parameter_counts_are_the_seeds(name, exact, printed):
    from seg.model.cost import human

    assert params(create_model(name)) == exact
    assert human(exact) == printed


def test_conv_factory_builds_the_named_parts():
    regular = create_conv2d("regular", 16, 32, 3)
    assert isinstance(regular, torch.nn.Conv2d) and regular.bias is None and regular.padding == (1, 1)
    dsc = create_conv2d("dsc", 16, 32, 5)
    assert isinstance(dsc, SeparableConv2d)
    assert dsc.conv_dw.groups == 16 and dsc.conv_dw.kernel_size == (5, 5) and dsc.conv_dw.padding == (2, 2)
    assert dsc.conv_pw.kernel_size == (1, 1) and dsc.conv_pw.bias is None
    assert params(regular) == 4608 and params(create_conv2d("dsc", 16, 32, 3)) == 656


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [(128, 128), (100, 150)])
def test_forward_shape_full_width(name, size):
    model = create_model(name).eval()
    with torch.inference_mode():
        out = model(torch.rand(1, 3, *size))
    assert out.shape == (1, 3, *size)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", NAMES + ["segnet_mixed"])
@pytest.mark.parametrize("size", [(16, 16), (33, 47), (100, 150)])
def test_any_resolution_small_width(name, size):
    kinds = MIXED if name == "segnet_mixed" else None
    model = create_model(name, kinds=kinds, base_channels=4)
    assert model(torch.rand(2, 3, *size)).shape == (2, 3, *size)


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_gets_a_gradient_and_logits_go_negative(name):
    torch.manual_seed(0)
    model = create_model(name, base_channels=8)
    logits = model(torch.rand(2, 3, 32, 48))
    torch.nn.functional.cross_entropy(logits, torch.randint(0, 3, (2, 32, 48))).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []
    assert (logits < 0).any(), "the head must not clamp logits at zero"


def test_mixed_model_uses_the_kind_of_each_block():
    model = create_model("segnet_mixed", kinds=MIXED, base_channels=8)
    blocks = list(model.encoder) + list(model.decoder)
    for kind, block in zip(MIXED, blocks):
        assert isinstance(block[0][0], SeparableConv2d) == (kind == "dsc")
    assert isinstance(model.head, SeparableConv2d) == (MIXED[-1] == "dsc")


def test_compiles_with_the_eager_backend():
    model = create_model("segnet_dsc", base_channels=4).eval()
    x = torch.rand(1, 3, 32, 32)
    with torch.inference_mode():
        assert torch.allclose(torch.compile(model, backend="eager")(x), model(x))


@pytest.mark.parametrize("kwargs, words", [
    ({"name": "segnet_big"}, ["model", "segnet_regular", "segnet_dsc"]),
    ({"name": "segnet_mixed"}, ["kinds"]),
    ({"name": "segnet_mixed", "kinds": ["dsc"] * 7}, ["kinds", "8", *BLOCK_NAMES]),
    ({"name": "segnet_mixed", "kinds": ["dsc"] * 7 + ["depthwise"]}, ["dec1", "regular", "dsc"]),
    ({"name": "segnet_regular", "kinds": "dsc"}, ["segnet_mixed"]),
    ({"name": "segnet_dsc", "kernel_size": 4}, ["kernel_size", "odd"]),
    ({"name": "segnet_dsc", "kernel_size": 0}, ["kernel_size"]),
    ({"name": "segnet_dsc", "base_channels": 0}, ["base_channels", "positive"]),
])
def test_bad_arguments_name_what_is_allowed(kwargs, words):
    with pytest.raises(ValueError) as err:
        create_model(kwargs.pop("name"), **kwargs)
    for word in words:
        assert word in str(err.value)


def test_too_small_input_says_what_size_works():
    model = create_model("segnet_dsc", base_channels=4)
    with pytest.raises(ValueError, match="at least 16x16"):
        model(torch.rand(1, 3, 15, 64))


def test_conv_factory_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of regular, dsc"):
        create_conv2d("separable", 4, 4, 3)
