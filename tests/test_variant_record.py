"""A variant is one record: register a throw-away one and every part of the app takes it up."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT, write_tiny_checkpoints
from PIL import Image

from seg.deploy.targets import check_target
from seg.model.config import BLOCK_NAMES, dsc_in
from seg.model.cost import model_cost
from seg.model.factory import create_model
from seg.model.variants import PAIR, VARIANTS, Variant, article_figures, colour_of, extras, register, titles
from seg.serve.models import Models
from seg.tabs.cost import cost_view
from seg.tabs.results import ResultsTab
from seg.tabs.segment import SegmentTab

THROWAWAY = Variant("segnet_enc1_dsc", dsc_in("enc1"), "Enc1-DSC SegNet", "DSC in enc1 alone", "#123456")


@pytest.fixture
def throwaway(monkeypatch, tmp_path):
    """The registry with the throw-away variant added (and removed after), and checkpoints for all."""
    monkeypatch.setitem(VARIANTS, THROWAWAY.name, THROWAWAY)
    return write_tiny_checkpoints(tmp_path / "checkpoints")


def test_the_record_is_all_there_is_to_a_variant(throwaway):
    assert extras()[-1] == THROWAWAY.name and titles()[THROWAWAY.name] == "Enc1-DSC SegNet"
    assert colour_of(THROWAWAY.name) == "#123456" and THROWAWAY.name not in article_figures()
    assert create_model(THROWAWAY.name).config.kinds == ("dsc",) + ("regular",) * 7
    dsc_blocks = [b for b, kind in zip(BLOCK_NAMES, THROWAWAY.kinds) if kind == "dsc"]
    view = cost_view(128, 3, 64, 4, dsc_blocks)  # the calculator's mix of the same blocks
    assert f"{model_cost(THROWAWAY.name)['totals']['params']:,}" in view.segnet_totals


def test_the_app_builds_with_it_in_every_tab(throwaway, tmp_path):
    import app as app_module

    models = Models(throwaway)
    assert THROWAWAY.name in models.loaded and models.errors == {}
    demo = app_module.build(throwaway, models=models)
    demo.sweeper.stop()
    labels = {c.get("props", {}).get("label") for c in demo.config["components"]}
    assert THROWAWAY.title in labels  # its overlay column in the Segment tab
    choices = [c["props"]["choices"] for c in demo.config["components"] if c.get("type") == "checkboxgroup"]
    assert any(value == THROWAWAY.name and THROWAWAY.blurb in label for group in choices for label, value in group)

    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)).save(photo)
    _, masks, summary = SegmentTab(models).segment_variants(str(photo), [*PAIR, THROWAWAY.name], 0.5)
    assert list(summary["models"]) == [*PAIR, THROWAWAY.name] and Image.open(masks[-1]).size == (80, 60)

    markdowns = [c["props"].get("value") for c in demo.config["components"] if c.get("type") == "markdown"]
    assert f"**{THROWAWAY.title}**" in markdowns  # its row of buttons in the Deploy tab
    assert check_target(THROWAWAY.name, "onnx").model == THROWAWAY.name


def test_the_results_tab_draws_it_with_its_title_and_colour(throwaway, tmp_path):
    frontier = json.loads((ROOT / "results" / "frontier.json").read_text())
    frontier["points"].append({**frontier["points"][-1], "model": THROWAWAY.name})
    path = tmp_path / "frontier.json"
    path.write_text(json.dumps(frontier))
    figure = ResultsTab(Models(throwaway, names=PAIR), path).figure("params")
    mine = [t for t in figure.data if THROWAWAY.title in (t.name or "") or THROWAWAY.title in str(t.text)]
    assert mine and mine[0].marker.color == "#123456"


def test_a_second_variant_of_the_same_name_is_refused(throwaway):
    with pytest.raises(ValueError, match="exists already"):
        register(THROWAWAY)
