"""The Cost calculator's "Any model" section: a torchvision architecture by stage, a choice of
stages to convert, and two lines of Python that give exactly that choice."""

from __future__ import annotations

import re

import pytest

from seg.dsc import report
from seg.dsc.zoo import build
from seg.tabs import anymodel
from seg.tabs.anymodel import AnyModel, chosen_totals, stage_pattern

pytestmark = pytest.mark.slow  # each builds and traces torchvision models


class InlineModels:
    """Models.run without the inference thread: the handler's work, run here."""

    def run(self, fn, *args):
        return fn(*args)


@pytest.fixture
def section():
    return AnyModel(InlineModels())


def test_analysing_an_architecture_offers_its_stages_and_totals(section):
    stages, chart, text = section.analyse("resnet50", 224)
    assert stages["choices"] == stages["value"] == ["conv1", "layer1", "layer2", "layer3", "layer4"]
    assert [trace.name for trace in chart.data] == ["as built", "with your DSC stages"]
    assert "parameters 25.56M → 15.52M (60.7%), mult-adds 4.09G → 2.34G (57.3%)" in text


def test_a_choice_of_stages_equals_converting_those_stages(section):
    section.analyse("resnet18", 160)
    chart, text = section.choose("resnet18", 160, ["layer3", "layer4"])
    expected = report(build("torchvision:resnet18"), (3, 160, 160),
                      include=[stage_pattern("layer3"), stage_pattern("layer4")])["totals"]
    chosen = chosen_totals(anymodel._traces[("resnet18", 160)], ["layer3", "layer4"])
    assert all(chosen[k] == expected[k] for k in ("params_after", "mult_adds_after", "replaced"))
    code = re.search(r"```python\n(.*?)```", text, re.S)[1]  # the two lines the section shows
    scope = {}
    exec(code, scope)  # noqa: S102 -- our own two lines
    assert sum(p.numel() for p in scope["model"].parameters()) == expected["params_after"]


def test_a_stage_ticked_reuses_the_trace(section, monkeypatch):
    section.analyse("resnet18", 96)
    monkeypatch.setattr("seg.dsc.zoo.build", lambda *a, **k: pytest.fail("traced again"))
    section.analyse("resnet18", 96)
    assert "your choice" in section.choose("resnet18", 96, ["layer1"])[1]


@pytest.mark.parametrize("name, size, message", [
    ("inception_v3", 32, "cannot run on a 3×32×32 input"),  # the model's own error, one line
    ("resnet18", 8, "choose an input size between 32 and 1024 px"),
    ("resnet18", None, "choose an architecture and an input size"),
    ("not_a_model", 224, "unknown model 'torchvision:not_a_model'"),
])
def test_bad_choices_get_a_message_and_the_section_keeps_working(section, name, size, message):
    stages, chart, text = section.analyse(name, size)
    assert message in text and chart is None and stages["choices"] == []
    assert "your choice" in section.analyse("resnet18", 64)[2]


def test_ticking_before_analysing_asks_for_an_analysis(section):
    assert section.choose("vgg11", 777, ["features.0"]) == (None, "Press **Analyse** first.")
