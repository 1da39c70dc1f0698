"""The Results tab: every shipped variant on one accuracy-against-cost chart, the x-axis switchable,
the same numbers as a table; the milliseconds can be measured again on the serving machine."""

from __future__ import annotations

import gradio as gr

from seg.machine import cpu_name
from seg.model.variants import titles
from seg.reports import frontier
from seg.reports.frontier import AXES, time_variants
from seg.serve.models import Models
from seg.tabs.charts import frontier_figure

DEFAULT_AXIS = "params"


class ResultsTab:
    """Reads the frontier file once (`python -m seg.frontier` writes it, where the test set is)."""

    def __init__(self, models: Models, path=frontier.PATH):
        self.models = models
        self.frontier = frontier.load(path)

    def points(self, measured_ms: dict | None = None) -> list:
        """The file's points; with `measured_ms`, their ms replaced by this machine's."""
        points = self.frontier["points"] if self.frontier else []
        return [{**p, "ms": measured_ms[p["model"]]} if measured_ms and p["model"] in measured_ms else p
                for p in points]

    def figure(self, axis: str, measured_ms: dict | None = None):
        if axis not in AXES:
            raise gr.Error(f"Unknown axis {axis!r}; choose one of {', '.join(AXES)}.")
        title, log = AXES[axis]
        if axis == "ms":
            title += " here" if measured_ms else f", {self.frontier['timing']['cpu']}"
        return frontier_figure(self.points(measured_ms), axis, title, log, titles())

    def table(self, measured_ms: dict | None = None) -> str:
        shown = {**self.frontier, "points": self.points(measured_ms)}
        note = (f"\n\nms measured here ({cpu_name()}), batch 1, through the app's fast path."
                if measured_ms else "")
        return frontier.markdown(shown) + note

    def measure_here(self, axis: str):
        """Time the loaded variants on the inference thread; redraw with those ms."""
        shipped = [p["model"] for p in self.points() if p["model"] in self.models.loaded]
        if not shipped:
            raise gr.Error("No trained models are loaded here to time.")
        measured = self.models.run(time_variants, {n: self.models.loaded[n] for n in shipped})
        return self.figure(axis, measured), self.table(measured), measured

    def render(self):
        if not self.frontier:
            gr.Markdown(f"No results file yet (`{frontier.PATH.name}`): run `python -m seg.frontier` where "
                        "the test set is.")
            return
        gr.Markdown("Each point is one shipped SegNet, trained by the same recipe: accuracy on all test images "
                    "against what it costs. The mixed SegNets swap some blocks only (the article's conclusion); "
                    "the dashed line joins all-regular and all-DSC.")
        axis = gr.Radio([(label, key) for key, (label, _) in AXES.items()], value=DEFAULT_AXIS, label="x-axis")
        plot = gr.Plot(value=self.figure(DEFAULT_AXIS), show_label=False, elem_id="frontier-plot")
        table = gr.Markdown(self.table())
        measured = gr.State()
        measure = gr.Button("Time the models on this machine (a few seconds)")
        axis.change(self.figure, [axis, measured], plot, api_visibility="private", show_progress="hidden")
        measure.click(self.measure_here, axis, [plot, table, measured], api_visibility="private",
                      concurrency_id="models")
