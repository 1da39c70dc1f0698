"""`python bench.py`'s measurements: speed of every path the app and training take, on this
machine, as ratios in one run. results/bench.json; docs/speed.md shows its tables.
"""

from __future__ import annotations

from seg.files import RESULTS
from seg.model.variants import PAIR, VARIANTS
from seg.reports import deploy as deploy_report
from seg.reports import store
from seg.serve.race import FREE_RUNNING, SAME_FRAMES
from seg.serve.timing import scaling_markdown

PATH = RESULTS / "bench.json"
COMMAND = "python bench.py"


def load(path=PATH) -> dict | None:
    return store.load(path)


def markdown(result: dict) -> str:
    m = result["machine"]
    out = [f"Machine: {m['cpu']} (native bf16: {', '.join(m['native_bf16']) or 'none'}), {m['threads']} threads, "
           f"torch {m['torch']}", "",
           "| inference at 128×128 | path | batch | median ms | min–max |", "|---|---|---|---:|---:|"]
    out += [f"| {k.replace(' | batch ', ' | ')} | {v['median']:.1f} | {v['min']:.1f}–{v['max']:.1f} |"
            for k, v in result["latency"].items()]
    out += ["", f"**Regular / DSC batch-1 latency, app path: {result['latency_ratio_batch1']:.2f}×** "
            f"(eager NCHW: {result['latency_ratio_batch1_eager']:.2f}×; mult-adds: {result['mult_adds_ratio']:.2f}×)", "",
            "| training step, batch 8 | path | images/s | median ms |", "|---|---|---:|---:|"]
    out += [f"| {k} | {v['images_per_s']:.1f} | {v['median']:.0f} |" for k, v in result["training"].items()]
    out += ["", "| DSC at 128×128, batch 1 | forward ms | in depthwise convs | in pointwise convs | the rest |",
            "|---|---:|---:|---:|---:|"]
    out += [f"| {k} | {v['total']:.1f} | {v['depthwise']:.1f} | {v['pointwise or regular']:.1f} | "
            f"{v['total'] - v['depthwise'] - v['pointwise or regular']:.1f} |" for k, v in result["breakdown_dsc"].items()]
    out += ["", "App path vs eager fp32 on real test images: " + "; ".join(
        f"{k}: {v['flipped']} of {v['pixels']:,} mask pixels differ ({v['images']} images)"
        for k, v in result["agreement"].items()) + "."]
    out += ["", "| input pipeline | samples/s |", "|---|---:|"]
    out += [f"| {k} | {v['samples_per_s']:.0f} |" for k, v in result["pipeline"].items()]
    out += ["", "| cost calculator | median ms | min–max |", "|---|---:|---:|"]
    out += [f"| {k} | {v['median']:.2f} | {v['min']:.2f}–{v['max']:.2f} |" for k, v in result["calculator"].items()]
    if "app" in result:
        out += ["", serving_markdown(result["app"])]
    if "live" in result:
        out += ["", live_markdown(result["live"], result["latency"])]
    if "deploy" in result:
        out += ["", "What DSC buys on the edge (each file timed and scored in its own process; "
                "accuracy on all test images):", "", deploy_report.table_markdown(result["deploy"])]
    out += ["", scaling_markdown(result["scaling"].values())]
    return "\n".join(out)


def serving_markdown(a: dict) -> str:
    # Start to ready has one home, the waits table (tools/launch.py): bench.json keeps its own figure, unshown.
    out = [f"`/segment` on {a['photo']}, one request at a time:", "",
           "| model | ms the app reports (p50, min–max) | direct call, back to back | app / direct | "
           "direct, after a request's image work |", "|---|---:|---:|---:|---:|"]
    for name, m in a["model_ms"].items():
        app, hot, between = m["app"], m["back_to_back"], m["after_image_work"]
        out.append(f"| {name} | {app['median']:.1f} ({app['min']:.1f}–{app['max']:.1f}) | "
                   f"{hot['median']:.1f} ({hot['min']:.1f}–{hot['max']:.1f}) | {m['app_over_direct']:.2f} | "
                   f"{between['median']:.1f} ({between['min']:.1f}–{between['max']:.1f}) |")
    server, trip = a["server_ms"], a["round_trip_ms"]
    out += ["", "| where a request's time goes (p50) | ms |", "|---|---:|"]
    out += [f"| {stage} | {ms:.1f} |" for stage, ms in a["stages_ms"].items()]
    out += [f"| **server total** (min–max {server['min']:.0f}–{server['max']:.0f}) | **{server['median']:.1f}** |",
            f"| Gradio upload, queue, file copies, transport (round trip − server) | "
            f"{trip['median'] - server['median']:.1f} |",
            f"| **round trip through gradio_client** (min–max {trip['min']:.0f}–{trip['max']:.0f}) | "
            f"**{trip['median']:.1f}** |",
            f"| the same with gradio_client's defaults (a verified SSL context per connection) | "
            f"{a['round_trip_ms_client_defaults']['median']:.1f} |"]
    c, s = a["concurrent_20"], a["server"]
    out += ["", f"20 concurrent requests: {c['served']} of 20 served, p50 {c['p50_ms'] / 1000:.2f} s, "
            f"slowest {c['max_ms'] / 1000:.2f} s (the queue serves one at a time). Server threads: at most "
            f"{s['threads_one_request']} during one request, {s['threads_twenty_requests']} during twenty; RSS "
            f"{s['rss_mb_after_one']:.0f} MB after one, {s['rss_mb_after_twenty']:.0f} MB after twenty "
            f"(peak {s['peak_rss_mb_after_one']:.0f} → {s['peak_rss_mb_after_twenty']:.0f} MB)."]
    return "\n".join(out)


def live_markdown(live: dict, latency: dict) -> str:
    rows = [f"Live path, {live['frame']} frames ({live['frames']} per race), beside batch-1 latency at 128×128 "
            "(app path):", "", "| race | model | frames/s | mean ms (live) | taken / dropped | batch-1 ms |",
            "|---|---|---:|---:|---:|---:|"]
    for mode in (SAME_FRAMES, FREE_RUNNING):
        for name in PAIR:
            lane, batch1 = live[mode][name], latency[f"{name} | + oneDNN packed conv+ReLU (app) | batch 1"]["median"]
            rows.append(f"| {mode} | {VARIANTS[name].title} | {lane['fps']:.1f} | {lane['mean_ms']:.1f} | "
                        f"{lane['taken']} / {lane['dropped']} | {batch1:.1f} |")
        rows.append(f"| {mode} | the handler (both, blending, readout) | {live[mode]['handler_fps']:.1f} | | | |")
    return "\n".join(rows)
