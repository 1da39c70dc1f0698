"""seg.dsc: any model's convolutions made depthwise-separable, costed exactly (torchinfo agrees),
and the converter agrees with the project's own conv factory."""

from __future__ import annotations

import json

import pytest
import torch
import torchinfo
from torch import nn

from seg.dsc import convert, plan, report
from seg.dsc.convert import LEFT, REPLACED
from seg.dsc.zoo import build
from seg.model.factory import create_model
from seg.model.layers import SeparableConv2d

# Classification and segmentation, plain, residual, inverted-residual, dense, grouped, dilated.
TORCHVISION = ["resnet18", "resnet50", "vgg16", "mobilenet_v3_large", "efficientnet_b0", "convnext_tiny",
               "deeplabv3_resnet50", "fcn_resnet50", "lraspp_mobilenet_v3_large", "regnet_y_400mf",
               "squeezenet1_1", "shufflenet_v2_x1_0"]
SIZE = (3, 96, 96)  # every one of them runs at it, and quickly


def outputs(model, x):
    with torch.no_grad():
        out = model(x)
    return {k: v.shape for k, v in out.items()} if isinstance(out, dict) else out.shape


@pytest.fixture(scope="module", params=TORCHVISION)
def pair(request):
    torch.manual_seed(0)
    model = build(f"torchvision:{request.param}")
    return request.param, model, convert(model).eval()


@pytest.mark.slow  # twelve architectures built and traced: seconds each
def test_the_converted_model_runs_with_the_same_output_shape(pair):
    _, model, converted = pair
    x = torch.randn(1, *SIZE)
    assert outputs(converted, x) == outputs(model, x)


@pytest.mark.slow  # twelve architectures built and traced: seconds each
def test_the_report_totals_equal_torchinfo_on_the_converted_model(pair):
    _, model, converted = pair
    totals = report(model, SIZE)["totals"]
    measured = torchinfo.summary(converted, input_size=(1, *SIZE), verbose=0)
    assert (totals["params_after"], totals["mult_adds_after"]) == (measured.total_params, measured.total_mult_adds)
    before = torchinfo.summary(model, input_size=(1, *SIZE), verbose=0)
    assert (totals["params_before"], totals["mult_adds_before"]) == (before.total_params, before.total_mult_adds)


@pytest.mark.slow  # twelve architectures built and traced: seconds each
def test_every_dense_kxk_conv_is_replaced_alike_and_the_rest_is_left_and_listed(pair):
    _, model, converted = pair
    decisions = plan(model)
    assert REPLACED in decisions.values()
    for name, what in decisions.items():
        old, new = model.get_submodule(name), converted.get_submodule(name)
        if what == REPLACED:
            assert isinstance(new, SeparableConv2d) and new.conv_dw.groups == old.in_channels
            for attr in ("kernel_size", "stride", "padding", "dilation", "padding_mode"):
                assert getattr(new.conv_dw, attr) == getattr(old, attr), (name, attr)
            assert (new.conv_pw.in_channels, new.conv_pw.out_channels) == (old.in_channels, old.out_channels)
            assert (new.conv_pw.bias is None) == (old.bias is None)
        else:
            assert what == (LEFT["grouped"] if old.groups > 1 else LEFT["pointwise"])
            assert new.weight.shape == old.weight.shape


def test_the_input_model_is_untouched_and_kept_weights_are_its_own():
    torch.manual_seed(0)
    model = build("torchvision:resnet18")
    state = {k: v.clone() for k, v in model.state_dict().items()}
    converted = convert(model, include=r"^layer4\.")
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())  # untouched
    assert not any(isinstance(m, SeparableConv2d) for m in model.modules())
    kept = converted.state_dict()
    replaced = [n for n, what in plan(model, include=r"^layer4\.").items() if what == REPLACED]
    assert replaced and all(n.startswith("layer4.") for n in replaced)
    for key, value in state.items():  # every module not replaced keeps its pretrained values
        if not any(key.startswith(f"{n}.") for n in replaced):
            assert torch.equal(kept[key], value), key


def test_the_converter_and_the_factory_agree_on_the_segnet():
    converted = convert(create_model("segnet_regular"))
    factory = create_model("segnet_dsc")
    shapes = lambda m: [(k, tuple(v.shape)) for k, v in m.state_dict().items()]  # noqa: E731
    assert shapes(converted) == shapes(factory)
    assert sum(p.numel() for p in converted.parameters()) == sum(p.numel() for p in factory.parameters()) == 1_749_668


def test_the_bias_is_carried_and_a_shared_conv_is_swapped_everywhere():
    conv = nn.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2, bias=True, padding_mode="reflect")
    model = nn.Sequential(conv, nn.ReLU(), nn.Conv2d(6, 4, 1))
    model.again = conv  # one module reachable by two names
    converted = convert(model)
    assert converted[0] is converted.again and isinstance(converted[0], SeparableConv2d)
    assert torch.equal(converted[0].conv_pw.bias, conv.bias) and converted[0].conv_dw.padding_mode == "reflect"
    x = torch.randn(1, 4, 17, 17)
    assert converted(x).shape == model(x).shape


def test_include_and_exclude_choose_by_name_and_a_pattern_matching_nothing_is_an_error():
    model = build("torchvision:resnet18")
    excluded = plan(model, exclude=["^layer[12]", "conv1$"])
    assert excluded["layer1.0.conv1"] == LEFT["excluded"] and excluded["layer3.0.conv2"] == REPLACED
    assert excluded["conv1"] == LEFT["excluded"]
    assert plan(model, include="layer3")["layer2.0.conv1"] == LEFT["not_included"]
    with pytest.raises(ValueError, match="'layer9' matches no convolution of the model"):
        plan(model, include="layer9")
    with pytest.raises(ValueError, match="is not a regular expression"):
        plan(model, exclude="layer[")


def test_a_model_that_cannot_run_on_the_input_says_why():
    with pytest.raises(ValueError, match="cannot run on a 3×16×16 input: .*Output size is too small"):
        report(build("torchvision:squeezenet1_0"), (3, 16, 16))  # 1.2M weights: it fails as vgg16 would


def test_stages_add_up_to_the_convolutions():
    result = report(build("torchvision:resnet18"), SIZE)
    assert [s["stage"] for s in result["stages"]] == ["conv1", "layer1", "layer2", "layer3", "layer4"]
    for key in ("params_before", "mult_adds_after"):
        assert sum(s[key] for s in result["stages"]) == sum(r[key] for r in result["convolutions"])


def cli(capsys, *args):
    from seg.dsc.__main__ import main

    try:
        code = main(list(args))
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_the_cli_reports_a_torchvision_model_and_the_projects_own(capsys):
    code, out, _ = cli(capsys, "torchvision:resnet50", "--input", "3x224x224")
    assert code == 0 and "17 of 53 convolutions become depthwise-separable" in out
    code, out, _ = cli(capsys, "seg:segnet_regular")  # the article's figures, from the converter
    assert code == 0 and "parameters 15.27M → 1.75M (11.5%), mult-adds 9.12G → 1.08G (11.8%)" in out
    code, out, _ = cli(capsys, "torchvision:resnet18", "--include", "layer4", "--markdown")
    assert code == 0 and "| `layer4.0.conv1` | 256 → 512 | 3×3, 2×2 |" in out and "| `conv1` |" in out
    code, out, _ = cli(capsys, "seg:segnet_dsc", "--json")
    assert code == 0 and json.loads(out)["totals"]["replaced"] == 0


@pytest.mark.parametrize("args, message", [
    (["torchvision:resnet5"], "unknown model 'torchvision:resnet5': name a model as torchvision:NAME"),
    (["resnet18"], "name a model as torchvision:NAME"),
    (["torchvision:squeezenet1_0", "--input", "3x16x16"], "cannot run on a 3×16×16 input: "),
    (["torchvision:resnet18", "--include", "nothing_here"], "'nothing_here' matches no convolution"),
    (["torchvision:resnet18", "--input", "3x224"], "'3x224' is not an input size"),
])
def test_the_cli_answers_a_mistake_in_one_line_and_exit_2(capsys, args, message):
    code, _, err = cli(capsys, *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_a_model_with_nothing_to_convert_says_so_and_exits_0(capsys):
    code, out, _ = cli(capsys, "torchvision:resnet18", "--include", "downsample")  # 1x1 convs only
    assert code == 0 and out.startswith("torchvision:resnet18: nothing to convert")
