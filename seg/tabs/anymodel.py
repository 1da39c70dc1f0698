"""The Cost calculator's "Any model" section: a torchvision architecture (built without weights)
at an input size, where its parameters and mult-adds live by stage, what DSC saves per stage,
the stages to convert as checkboxes, the totals, and the two lines of Python for that choice.

One trace per architecture and size (seg.dsc.report, on the inference thread), cached; ticking a
stage only re-adds the cached rows, so it answers at once. seg.dsc (torch) is imported by the
first analysis, not at the app's start.
"""

from __future__ import annotations

import re

import gradio as gr
import plotly.graph_objects as go

from seg.model.cost import human
from seg.serve.models import Models
from seg.tabs.charts import COLOURS, _layout

DEFAULT = ("resnet50", 224)
SIZES = (32, 1024)  # the input side the section offers (a trace at 1024 px takes seconds)


CACHE_SIZE = 32
_traces: dict[tuple[str, int], dict] = {}  # filled on the inference thread only


def traced(name: str, size: int) -> dict:
    """seg.dsc.report of torchvision:NAME at 3 x size x size, every dense conv a candidate; kept
    for the CACHE_SIZE latest architectures and sizes."""
    from seg.dsc.report import report
    from seg.dsc.zoo import build

    if (name, size) not in _traces:
        if len(_traces) >= CACHE_SIZE:
            _traces.pop(next(iter(_traces)))
        _traces[(name, size)] = report(build(f"torchvision:{name}"), (3, size, size))
    return _traces[(name, size)]


def stage_pattern(stage: str) -> str:
    return f"^{re.escape(stage)}(\\.|$)"


def chosen_totals(result: dict, stages) -> dict:
    """The totals with only the chosen stages' dense convolutions converted (= report(..., include=
    their patterns), without tracing again)."""
    from seg.dsc.convert import REPLACED
    from seg.dsc.report import totals_after

    rows = [r for r in result["convolutions"] if r["action"] == REPLACED and r["stage"] in set(stages)]
    return totals_after(result["totals"]["params_before"], result["totals"]["mult_adds_before"], rows)


def convertible(result: dict) -> list[str]:
    return [s["stage"] for s in result["stages"] if s["replaced"]]


def figure(result: dict, stages) -> go.Figure:
    chosen = set(stages)
    names = [s["stage"] for s in result["stages"]]
    after = [s["mult_adds_after"] if s["stage"] in chosen else s["mult_adds_before"] for s in result["stages"]]
    traces = [go.Bar(x=names, y=[s["mult_adds_before"] for s in result["stages"]], name="as built",
                     marker_color=COLOURS["regular"]),
              go.Bar(x=names, y=after, name="with your DSC stages", marker_color=COLOURS["dsc"])]
    return go.Figure(traces, _layout("Convolution mult-adds by stage", "mult-adds", xtitle="stage"), skip_invalid=True)


def summary(name: str, size: int, result: dict, stages) -> str:
    t, patterns = chosen_totals(result, stages), [stage_pattern(s) for s in stages]
    lines = ["| stage | convolutions (dense k×k) | params | mult-adds | DSC saves (params, mult-adds) |",
             "|---|---:|---:|---:|---:|"]
    for s in result["stages"]:
        lines.append(f"| `{s['stage']}` | {s['convolutions']} ({s['replaced']}) | {human(s['params_before'])} | "
                     f"{human(s['mult_adds_before'])} | {human(s['params_before'] - s['params_after'])}, "
                     f"{human(s['mult_adds_before'] - s['mult_adds_after'])} |")
    total = (f"**{name} at {size}×{size}, your choice** ({t['replaced']} convolutions): parameters "
             f"{human(t['params_before'])} → {human(t['params_after'])} "
             f"({t['params_after'] / t['params_before']:.1%}), "
             f"mult-adds {human(t['mult_adds_before'])} → {human(t['mult_adds_after'])} "
             f"({t['mult_adds_after'] / t['mult_adds_before']:.1%}).")
    code = ("```python\nfrom seg.dsc import convert; from seg.dsc.zoo import build\n"
            f"model = convert(build(\"torchvision:{name}\"), include={patterns!r})\n```")
    return "\n\n".join([total, code, "\n".join(lines)])


def architectures() -> list[str]:
    from seg.dsc.zoo import torchvision_names

    return sorted(torchvision_names())


class AnyModel:
    def __init__(self, models: Models):
        self.models = models

    def analyse(self, name, size, progress=gr.Progress()):
        """A new architecture or size: trace it (cached), every convertible stage ticked."""
        from seg.dsc.zoo import UnknownModel

        try:
            size = int(size)
            if not SIZES[0] <= size <= SIZES[1]:
                raise ValueError(f"choose an input size between {SIZES[0]} and {SIZES[1]} px")
            progress(0.1, desc=f"Building {name} and tracing one {size}×{size} forward pass…")
            result = self.models.run(traced, name, size)
        except (UnknownModel, ValueError, TypeError) as err:
            message = str(err) if not isinstance(err, TypeError) else "choose an architecture and an input size"
            return gr.update(choices=[], value=[]), None, f"**Cannot analyse {name} at {size}:** {message}"
        stages = convertible(result)
        return gr.update(choices=stages, value=stages), figure(result, stages), summary(name, size, result, stages)

    def choose(self, name, size, stages):
        """Ticking a stage: the cached trace, re-added (nothing is traced again)."""
        try:
            result = _traces.get((name, int(size)))
        except (ValueError, TypeError):
            result = None
        if result is None:
            return None, "Press **Analyse** first."
        return figure(result, stages or []), summary(name, int(size), result, stages or [])

    def render(self):
        gr.Markdown("### Any model: what DSC would save in a torchvision architecture\n"
                    "Built without weights (no download), traced once per input size; every number is "
                    "`seg.dsc.report`'s, exact (torchinfo's counting rule).")
        with gr.Row():
            # The full list on first focus: listing it imports torchvision (seconds), which the app's
            # start does not wait for.
            name = gr.Dropdown([DEFAULT[0]], value=DEFAULT[0], label="Architecture (torchvision)")
            size = gr.Number(value=DEFAULT[1], precision=0, minimum=SIZES[0], maximum=SIZES[1], label="Input size (px)")
            go_button = gr.Button("Analyse", variant="primary")
        stages = gr.CheckboxGroup([], label="Stages to build from DSC")
        with gr.Row():
            chart = gr.Plot(show_label=False)
            text = gr.Markdown()
        name.focus(lambda: gr.update(choices=architectures()), None, name, api_visibility="private",
                   show_progress="hidden")
        go_button.click(self.analyse, [name, size], [stages, chart, text], api_visibility="private")
        stages.input(self.choose, [name, size, stages], [chart, text], api_visibility="private",
                     trigger_mode="always_last", show_progress="hidden")

