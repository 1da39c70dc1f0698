"""`python -m tools.soak`'s run: the app under N minutes of mixed traffic, good and bad, from
several clients. results/soak.json; the README's reliability section shows its table.
"""

from __future__ import annotations

from seg.files import RESULTS
from seg.reports import store

PATH = RESULTS / "soak.json"
COMMAND = "python -m tools.soak --minutes 10"
SERVER = {"rss_mb": "resident memory, MB", "threads": "threads", "open_files": "open files",
          "disk_mb": "disk (uploads, outputs, exports), MB"}


def load(path=PATH) -> dict | None:
    return store.load(path)


def markdown(result: dict) -> str:
    lines = [f"{result['minutes']:g} minutes, {result['clients']} clients at once, on {result['cpu']}: "
             f"**{result['requests']:,} requests, {result['errors']} errors, {result['lost']} lost**; "
             f"p50 {result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms; a normal photo served after it all: "
             f"{'yes' if result['normal_photo_after'] else 'NO'}.", "",
             "| request | count | errors | p50 ms | p99 ms |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {kind} | {k['requests']:,} | {k['errors']} | {k['p50_ms']:.0f} | {k['p99_ms']:.0f} |"
              for kind, k in result["by_kind"].items()]
    start, end, peak = result["server_after_warmup"], result["server_at_end"], result["server_peak_under_load"]
    lines += ["", f"| server at rest | after {result['warmup_s']:.0f} s of warm-up | at the end | within 10% | "
              "peak under load |", "|---|---:|---:|:-:|---:|"]
    lines += [f"| {label} | {start[key]:g} | {end[key]:g} | {'✅' if result['within_10_percent'][key] else '❌'} | "
              f"{peak.get(key, float('nan')):g} |" for key, label in SERVER.items()]
    if result["error_examples"]:
        lines += ["", "Errors seen: " + "; ".join(f"`{e}`" for e in result["error_examples"])]
    lines.append(f"\nAt rest: traffic paused, the cache's time to live ({result['cache_ttl_s']} s) passed, one photo "
                 "served. Bad requests "
                 "(a text file as a photo or a clip, wrong JSON, a path out of the model folder) count as errors only "
                 f"when answered without their message; `{result['command']}`.")
    return "\n".join(lines)
