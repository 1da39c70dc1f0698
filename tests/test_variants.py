"""The mixed SegNets beside the pair: named variants, extra columns, /segment_variants."""

from __future__ import annotations

import numpy as np
import pytest
from gradio import Error as GradioError
from PIL import Image

from seg.model.config import BLOCK_NAMES, dsc_in
from seg.model.cost import model_cost
from seg.model.factory import create_model
from seg.model.variants import PAIR, VARIANTS, extras
from seg.serve.models import Models
from seg.tabs.cost import cost_view
from seg.tabs.segment import SegmentTab


@pytest.fixture(scope="module")
def tab(tiny_checkpoints):
    return SegmentTab(Models(tiny_checkpoints))


@pytest.fixture
def photo_path(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (70, 110, 3), dtype=np.uint8)).save(path)
    return path


def test_the_named_mixes_are_dsc_exactly_in_their_blocks():
    assert VARIANTS["segnet_dsc_deep"].kinds == ("regular", "regular", "dsc", "dsc", "dsc", "dsc", "regular", "regular")
    assert VARIANTS["segnet_dsc_shallow"].kinds == ("dsc", "dsc", "regular", "regular", "regular", "regular", "dsc", "dsc")
    assert PAIR == ("segnet_regular", "segnet_dsc")
    assert extras() == ("segnet_dsc_deep", "segnet_dsc_shallow", "unet_regular", "unet_dsc")
    with pytest.raises(ValueError, match="block must be one of enc1"):
        dsc_in("enc5")


@pytest.mark.parametrize("name", ["segnet_dsc_deep", "segnet_dsc_shallow"])
def test_a_mix_costs_what_the_calculator_says_for_the_same_blocks(name):
    dsc_blocks = [b for b, kind in zip(BLOCK_NAMES, VARIANTS[name].kinds) if kind == "dsc"]
    view = cost_view(128, 3, 64, 4, dsc_blocks)
    totals = model_cost(name)["totals"]
    model = create_model(name)
    assert sum(p.numel() for p in model.parameters()) == totals["params"]
    assert f"{totals['params']:,}" in view.segnet_totals  # the "your mix" row
    assert sum(int(row[4].replace(",", "")) for row in view.segnet_table) == totals["mult_adds"]


def test_segment_variants_answers_every_shipped_variant_asked_for(tab, photo_path):
    overlays, masks, summary = tab.segment_variants(str(photo_path), list(VARIANTS), 0.5)
    assert len(overlays) == len(masks) == len(VARIANTS) and summary["errors"] == {}
    assert list(summary["models"]) == list(VARIANTS)
    assert len(summary["agreements"]) == len(VARIANTS) * (len(VARIANTS) - 1) // 2  # every pair
    for path in masks:
        assert Image.open(path).size == (110, 70)


def test_an_unknown_variant_is_named_and_the_others_still_come_back(tab, photo_path):
    overlays, masks, summary = tab.segment_variants(str(photo_path), ["segnet_dsc_deep", "segnet_huge"], 0.5)
    assert list(summary["models"]) == ["segnet_dsc_deep"] and len(masks) == 1
    assert "'segnet_huge' is not a shipped variant; available: segnet_regular, segnet_dsc" in summary["errors"]["segnet_huge"]
    with pytest.raises(GradioError, match="not a shipped variant"):
        tab.segment_variants(str(photo_path), ["segnet_huge"], 0.5)
    with pytest.raises(GradioError, match="must be a list of names"):
        tab.segment_variants(str(photo_path), {"model": 1}, 0.5)
    assert list(tab.segment_variants(str(photo_path), "segnet_dsc", 0.5)[2]["models"]) == ["segnet_dsc"]


def test_a_missing_mix_checkpoint_is_reported_and_the_pair_still_runs(tiny_checkpoints, tmp_path, photo_path):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    for name in PAIR:
        for suffix in (".safetensors", ".json"):
            (folder / f"{name}{suffix}").write_bytes((tiny_checkpoints / f"{name}{suffix}").read_bytes())
    partial = SegmentTab(Models(folder))
    assert partial.extras == [] and "Deep-DSC SegNet" in partial.status_markdown()
    assert list(partial.segment(str(photo_path)).summary["models"]) == list(PAIR)
    _, _, summary = partial.segment_variants(str(photo_path), ["segnet_dsc", "segnet_dsc_deep"], 0.5)
    assert "python train.py --model segnet_dsc_deep" in summary["errors"]["segnet_dsc_deep"]


def test_added_columns_show_the_mix_and_one_table_for_every_variant_shown(tab, photo_path):
    first = tab.segment(str(photo_path), 0.5)
    *updates, stats, state = tab.add_columns(str(photo_path), 0.5, ["segnet_dsc_deep"], first.state)
    overlays, masks = updates[:len(tab.extras)], updates[len(tab.extras):]
    assert [u["visible"] for u in overlays] == [n == "segnet_dsc_deep" for n in tab.extras]
    assert Image.open(masks[0]["value"]).size == (110, 70)
    assert "| Regular SegNet | DSC SegNet | Deep-DSC SegNet |" in stats
    for pair in ("Regular SegNet vs DSC SegNet", "Regular SegNet vs Deep-DSC SegNet", "DSC SegNet vs Deep-DSC SegNet"):
        assert pair in stats
    assert set(state["masks"]) == {*PAIR, "segnet_dsc_deep"}
    # the pair's own numbers are kept, not re-measured
    assert state["models"]["segnet_regular"] == first.state["models"]["segnet_regular"]
    *updates, stats, state = tab.add_columns(str(photo_path), 0.5, [], state)
    assert [u["visible"] for u in updates] == [False] * 2 * len(tab.extras) and "regular / DSC" in stats
    assert set(state["masks"]) == set(PAIR)


def test_added_columns_wait_for_a_photo(tab):
    *updates, stats, state = tab.add_columns(None, 0.5, ["segnet_dsc_deep"], None)
    assert [u["visible"] for u in updates] == [n == "segnet_dsc_deep" for n in tab.extras] * 2
    assert stats == state  # both gr.skip(): nothing segmented, nothing to change


def test_each_blocks_checkbox_names_its_share_of_the_cost():
    from seg.tabs.cost import block_choices

    choices = dict((value, label) for label, value in block_choices(128, 3))
    assert list(choices) == list(BLOCK_NAMES)
    assert choices["enc4"] == "enc4 (38.6% of params, 16.6% of mult-adds)"
    assert choices["enc1"] == "enc1 (0.3% of params, 6.9% of mult-adds)"
    # the deep four hold most parameters, the calculator's default mix: 2.21M params, 41% of mult-adds
    assert choices["dec3"].startswith("dec3 (9.7% of params")
    assert block_choices(20, 3)[3][0] == "enc4 (38.6% of params, 12.0% of mult-adds)"  # 2×2 (20/8 floored): a smaller share
