"""The analytic cost model against the seed's worked examples, torchinfo and FlopCounterMode."""

from __future__ import annotations

import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode
from torchinfo import summary

from seg.model.cost import conv_cost, main, model_cost, segnet_cost, stack_cost
from seg.model.factory import create_model
from seg.model.layers import build_stack
from seg.model.variants import VARIANTS

KINDS = ["regular", "dsc"]
MIXED = ["regular", "dsc", "dsc", "regular", "dsc", "regular", "regular", "dsc"]


def test_seed_single_layer_example():
    (regular,) = conv_cost("regular", "l", 16, 32, 3, 128, 128)
    assert (regular.params, regular.mult_adds) == (4608, 75_497_472)
    dw, pw = conv_cost("dsc", "l", 16, 32, 3, 128, 128)
    assert (dw.params + pw.params, dw.mult_adds + pw.mult_adds) == (656, 10_747_904)


def test_seed_four_layer_table():
    rows = stack_cost(128, 3, 64, 4)["rows"]
    assert [r["regular_params"] for r in rows] == [73_728, 294_912, 1_179_648, 4_718_592]
    assert [r["dsc_params"] for r in rows] == [8_768, 33_920, 133_376, 528_896]
    assert [(r["in_ch"], r["out_ch"]) for r in rows] == [(64, 128), (128, 256), (256, 512), (512, 1024)]
    # Each row at its true size (the seed's notebook used 128x128 for every row).
    assert [r["height"] for r in rows] == [128, 64, 32, 16]
    assert [r["regular_mult_adds"] for r in rows] == [1_207_959_552] * 4
    assert [r["dsc_mult_adds"] for r in rows] == [143_654_912, 138_936_320, 136_577_024, 135_397_376]
    for r in rows:  # the textbook ratio 1/C_out + 1/k^2
        assert r["ratio"] == pytest.approx(1 / r["out_ch"] + 1 / 9)


def test_seed_notebook_rows_all_at_128():
    rows = stack_cost(128, 3, 64, 4, halving=False)["rows"]
    assert [r["height"] for r in rows] == [128] * 4
    assert [r["regular_mult_adds"] for r in rows] == [p * 128 * 128 for p in (73_728, 294_912, 1_179_648, 4_718_592)]
    assert [r["dsc_mult_adds"] for r in rows] == [p * 128 * 128 for p in (8_768, 33_920, 133_376, 528_896)]


def leaf_costs(model, size):
    info = summary(model, input_size=(1, 3, *size), verbose=0)
    leaves = [layer for layer in info.summary_list if layer.is_leaf_layer and layer.num_params > 0]
    return info, [(layer.num_params, layer.macs) for layer in leaves]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size", [(16, 16), (33, 47), (100, 150)])
@pytest.mark.parametrize("kernel", [1, 3, 5, 7])
@pytest.mark.parametrize("channels", [4, 12])
def test_segnet_cost_equals_torchinfo_and_flop_counter(kind, size, kernel, channels):
    model = create_model(f"segnet_{kind}", kernel_size=kernel, base_channels=channels)
    cost = segnet_cost(kind, size, kernel, channels)
    info, leaves = leaf_costs(model, size)
    assert leaves == [(r["params"], r["mult_adds"]) for r in cost["layers"]]
    assert (info.total_params, info.total_mult_adds) == (cost["totals"]["params"], cost["totals"]["mult_adds"])
    check_flops(model, size, cost["layers"])


def check_flops(model, size, layers):
    """FlopCounterMode counts 2 FLOPs per conv weight multiply-add; no bias, no BatchNorm."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(torch.rand(1, 3, *size))
    conv_macs = sum(r["mult_adds"] - (r["out_ch"] * r["height"] * r["width"] if r["bias"] else 0)
                    for r in layers if r["op"] != "bn")
    assert counter.get_total_flops() == 2 * conv_macs


@pytest.mark.parametrize("name", VARIANTS)
def test_full_size_totals_equal_torchinfo(name):
    model = create_model(name)
    info, leaves = leaf_costs(model, (128, 128))
    cost = model_cost(name, 128)
    assert leaves == [(r["params"], r["mult_adds"]) for r in cost["layers"]]
    assert info.total_mult_adds == cost["totals"]["mult_adds"]


def test_full_size_mult_add_ratio_is_about_twelve_percent():
    ratio = model_cost("segnet_dsc")["totals"]["mult_adds"] / model_cost("segnet_regular")["totals"]["mult_adds"]
    assert 0.11 < ratio < 0.12


def test_mixed_model_cost_per_block():
    model = create_model("segnet_mixed", kinds=MIXED, base_channels=8, kernel_size=5)
    cost = segnet_cost(MIXED, (40, 56), 5, 8)
    info, leaves = leaf_costs(model, (40, 56))
    assert leaves == [(r["params"], r["mult_adds"]) for r in cost["layers"]]
    assert [b["kind"] for b in cost["blocks"][1:]] == MIXED
    assert sum(b["params"] for b in cost["blocks"]) == info.total_params
    check_flops(model, (40, 56), cost["layers"])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size, kernel, channels, layers", [
    (128, 3, 64, 4), ((37, 90), 5, 8, 3), (64, 7, 16, 6), (33, 1, 3, 2),
])
def test_stack_cost_equals_torchinfo(kind, size, kernel, channels, layers):
    table = stack_cost(size, kernel, channels, layers)
    hw = tuple(table["config"]["size"])
    info = summary(build_stack(kind, channels, kernel, layers), input_size=(1, channels, *hw), verbose=0)
    assert info.total_params == table["totals"][f"{kind}_params"]
    assert info.total_mult_adds == table["totals"][f"{kind}_mult_adds"]


def test_cli_prints_the_stack_table(capsys):
    assert main(["--size", "128", "--kernel", "3", "--channels", "64", "--layers", "4"]) == 0
    out = capsys.readouterr().out
    assert "73,728" in out and "528,896" in out and "1,207,959,552" in out


def test_cli_json_is_the_same_numbers(capsys):
    assert main(["--json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(stack_cost()))


@pytest.mark.parametrize("name, printed", [("segnet_regular", "15.27M"), ("segnet_dsc", "1.75M")])
def test_cli_model_table(capsys, name, printed):
    assert main(["--model", name]) == 0
    out = capsys.readouterr().out
    assert printed in out and "dec1" in out


@pytest.mark.parametrize("argv, words", [
    (["--kernel", "4"], ["kernel", "odd"]),
    (["--kernel", "-3"], ["kernel"]),
    (["--channels", "0"], ["channels", "positive"]),
    (["--layers", "0"], ["layers", "positive"]),
    (["--size", "8", "--model", "segnet_dsc"], ["size", "16"]),
    (["--size", "4", "--layers", "4"], ["size", "8"]),
    (["--size", "abc"], ["size"]),
    (["--model", "vgg"], ["model", "segnet_regular"]),
    (["--model", "segnet_mixed", "--kinds", "dsc,regular"], ["kinds", "8"]),
])
def test_cli_bad_input_is_one_line_and_exit_2(capsys, argv, words):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    for word in words:
        assert word in captured.err
