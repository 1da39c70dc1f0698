"""Plotly figures for the cost calculator and the training history, from plain dicts."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from seg.model.variants import PAIRS, colour_of

COLOURS = {"regular": "#4c6ef5", "dsc": "#f08c00"}
LABELS = {"regular": "regular conv", "dsc": "depthwise-separable"}


def _layout(title, ytitle, log=False, xtitle="layer"):
    # Styled by hand with an empty template: copying a named plotly template is ~6 ms a figure.
    axis = dict(gridcolor="#e9ecef", linecolor="#adb5bd", zerolinecolor="#dee2e6")
    return dict(
        title=dict(text=title, x=0.02), barmode="group", height=320, template={},
        plot_bgcolor="white", paper_bgcolor="white", font=dict(family="sans-serif", size=12, color="#343a40"),
        margin=dict(l=60, r=20, t=50, b=50), legend=dict(orientation="h", y=1.12, x=1, xanchor="right"),
        xaxis=dict(title=xtitle, type="category", **axis), yaxis=dict(title=ytitle, type="log" if log else "linear", **axis),
    )


def _bars(x, series, title, ytitle, log=False, xtitle="layer"):
    # skip_invalid skips plotly's per-property validation: the inputs are ours, and it is
    # most of the cost of building a figure (the calculator redraws on every slider move).
    traces = [go.Bar(x=x, y=ys, name=LABELS[kind], marker_color=COLOURS[kind]) for kind, ys in series.items()]
    return go.Figure(traces, _layout(title, ytitle, log, xtitle), skip_invalid=True)


def stack_figures(table: dict):
    rows = table["rows"]
    x = [f"{r['layer']}: {r['in_ch']}→{r['out_ch']} @{r['height']}×{r['width']}" for r in rows]
    params = _bars(x, {k: [r[f"{k}_params"] for r in rows] for k in COLOURS}, "Parameters per layer", "parameters (log)", log=True)
    macs = _bars(x, {k: [r[f"{k}_mult_adds"] for r in rows] for k in COLOURS}, "Mult-adds per layer", "mult-adds (log)", log=True)
    ratio = go.Figure(
        [go.Scatter(x=x, y=[r["ratio"] for r in rows], mode="lines+markers+text", name="DSC / regular",
                    text=[f"{r['ratio']:.3f}" for r in rows], textposition="top center",
                    marker_color=COLOURS["dsc"])],
        _layout("DSC / regular (parameters = mult-adds)", "ratio"), skip_invalid=True,
    )
    ratio.update_yaxes(rangemode="tozero")
    return params, macs, ratio


def segnet_figure(cost: dict, baselines: dict):
    """Per-block mult-adds of the chosen mix, beside all-regular and all-DSC."""
    blocks = [b["block"] for b in cost["blocks"]]
    traces = [
        go.Bar(x=blocks, y=[b["mult_adds"] for b in baselines["regular"]["blocks"]], name="all regular",
               marker_color=COLOURS["regular"], opacity=0.45),
        go.Bar(x=blocks, y=[b["mult_adds"] for b in cost["blocks"]], name="your mix", marker_color="#2b8a3e",
               text=[b["kind"] for b in cost["blocks"]], textposition="outside"),
        go.Bar(x=blocks, y=[b["mult_adds"] for b in baselines["dsc"]["blocks"]], name="all DSC",
               marker_color=COLOURS["dsc"], opacity=0.45),
    ]
    return go.Figure(traces, _layout("SegNet mult-adds per block", "mult-adds (log)", log=True, xtitle="block"),
                     skip_invalid=True)


def history_figures(histories: dict, titles: dict):
    """Validation pixel accuracy, mIoU and losses per epoch, one line per variant (the test
    split is scored once, after training: the table beside these curves)."""
    specs = [("val_pixel_accuracy", "Validation pixel accuracy"), ("val_miou", "Validation mIoU"),
             ("val_loss", "Loss")]
    figures = []
    for key, title in specs:
        traces = []
        for name, history in histories.items():
            colour, epochs = colour_of(name), [h["epoch"] for h in history]
            traces.append(go.Scatter(x=epochs, y=[h[key] for h in history], name=f"{titles[name]} (validation)",
                                     mode="lines+markers", line=dict(color=colour)))
            if key == "val_loss":
                traces.append(go.Scatter(x=epochs, y=[h["train_loss"] for h in history], name=f"{titles[name]} (train)",
                                         mode="lines", line=dict(color=colour, dash="dot")))
        layout = _layout(title, key.removeprefix("val_").replace("_", " "), xtitle="epoch")
        layout["xaxis"]["type"] = "linear"
        figures.append(go.Figure(traces, {**layout, **LEGEND_BELOW}, skip_invalid=True))
    return figures


# Four variants' long names wrap the legend into rows: above the plot they cover the curves'
# last epochs; below the axis, in a margin sized for them, they cover nothing.
LEGEND_BELOW = {"legend": dict(orientation="h", x=0, xanchor="left", y=-0.22, yanchor="top"),
                "margin": dict(l=60, r=20, t=50, b=150), "height": 460}


def scaling_figure(rows):
    """Measured regular/DSC latency ratio against the mult-add ratio, as the input grows."""
    x = [f"{r['size']}×{r['size']}" for r in rows]
    traces = [
        go.Scatter(x=x, y=[r["mult_adds_ratio"] for r in rows], name="mult-adds ratio (theory)",
                   mode="lines+markers", line=dict(color="#868e96", dash="dash")),
        go.Scatter(x=x, y=[r["latency_ratio"] for r in rows], name="measured latency ratio",
                   mode="lines+markers+text", text=[f"{r['latency_ratio']:.1f}×" for r in rows],
                   textposition="top center", line=dict(color="#2b8a3e")),
    ]
    layout = _layout("Regular / DSC: measured time vs mult-adds (batch 1)", "regular / DSC", xtitle="input")
    return go.Figure(traces, layout, skip_invalid=True)



def frontier_figure(points: list, axis: str, xtitle: str, log: bool, titles: dict):
    """Test pixel accuracy (95% interval as error bars) against one cost, a point per variant,
    and each architecture's regular-DSC segment (the SegNet mixes sit between its ends)."""
    traces = []
    for architecture, pair in PAIRS.items():
        ends = [p for name in pair for p in points if p["model"] == name]
        if len(ends) == 2:
            traces.append(go.Scatter(x=[p[axis] for p in ends], y=[p["pixel_accuracy"] for p in ends], mode="lines",
                                     line=dict(color="#adb5bd", dash="dash"), name=f"{architecture}: regular ⟷ DSC",
                                     hoverinfo="skip"))
    for p in points:
        low, high = p["pixel_accuracy_ci95"]
        traces.append(go.Scatter(
            x=[p[axis]], y=[p["pixel_accuracy"]], mode="markers+text", name=titles[p["model"]],
            text=[titles[p["model"]]], textposition="top center",
            marker=dict(size=12, color=colour_of(p["model"])),
            error_y=dict(type="data", symmetric=False, array=[high - p["pixel_accuracy"]],
                         arrayminus=[p["pixel_accuracy"] - low])))
    layout = _layout("Test pixel accuracy against cost (bars: 95% bootstrap interval)", "test pixel accuracy",
                     xtitle=xtitle)
    layout["xaxis"]["type"] = "log" if log else "linear"
    layout["yaxis"]["tickformat"] = ".1%"
    layout["height"] = 420
    return go.Figure(traces, layout, skip_invalid=True)


def frame_times_figure(ms_by_model: dict, titles: dict):
    """Milliseconds per frame of each model over a clip."""
    traces = [go.Scatter(x=list(range(1, len(ms) + 1)), y=ms, name=titles[name], mode="lines",
                         line=dict(color=colour_of(name))) for name, ms in ms_by_model.items()]
    layout = _layout("Milliseconds per frame", "ms", xtitle="frame")
    layout["xaxis"]["type"] = "linear"
    return go.Figure(traces, layout, skip_invalid=True)


def learning_curve_figure(curve: dict, titles: dict, seed_full_data: dict, full_images: int):
    """Validation pixel accuracy against training images (log axis): the runs, each model's line
    through them carried out to the article's training-set size, and the article's test figure there."""
    traces = []
    for model, fit in curve["fits"].items():
        colour, mine = colour_of(model), [p for p in curve["points"] if p["model"] == model]
        traces.append(go.Scatter(x=[p["images"] for p in mine], y=[p["val_pixel_accuracy"] for p in mine],
                                 mode="markers", marker=dict(size=10, color=colour),
                                 name=f"{titles[model]}: runs (seed {', '.join(sorted({str(p['seed']) for p in mine}))})"))
        ends = [min(p["images"] for p in mine), full_images]
        traces.append(go.Scatter(x=ends, y=[fit["intercept"] + fit["gain_per_doubling"] * math.log2(n) for n in ends],
                                 mode="lines", line=dict(color=colour, dash="dash"), hoverinfo="skip",
                                 name=f"{titles[model]}: line, {fit['gain_per_doubling'] * 100:+.1f} points per doubling"))
        traces.append(go.Scatter(x=[full_images], y=[seed_full_data[model]], mode="markers",
                                 marker=dict(size=13, symbol="star", color=colour),
                                 name=f"{titles[model]}: the article (test, {full_images:,} images)"))
    layout = _layout("Validation pixel accuracy against training images (equal optimizer steps)",
                     "validation pixel accuracy", xtitle="training images (log scale)")
    layout["xaxis"]["type"] = "log"
    layout["yaxis"]["tickformat"] = ".0%"
    layout["height"] = 420
    layout["legend"] = dict(orientation="v", x=1.02, y=1, xanchor="left")
    return go.Figure(traces, layout, skip_invalid=True)
