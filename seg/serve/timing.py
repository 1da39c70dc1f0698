"""Timing helpers shared by bench.py and the app's "measure on this machine" button.

Torch-free at import (the app's page is built from it before torch is imported): the one
function that runs models imports what it needs."""

from __future__ import annotations

import statistics
import time

from seg.model.cost import config_cost


def median_min_max(values, scale: float = 1.0) -> dict:
    """What every timing table here prints: median, min and max, times scale (1000: s -> ms)."""
    return {"median": statistics.median(values) * scale, "min": min(values) * scale, "max": max(values) * scale}


def interleaved(fns: dict, reps: int, warmup: int = 2) -> dict:
    """{name: [seconds, ...]}: every fn once per round, so drift hits all alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def latency_by_size(reg, dsc, sizes=(64, 128, 256, 512), reps: int = 10) -> list[dict]:
    """Batch-1 latency of a regular and a DSC SegNet (eval-mode, unoptimised) per input size,
    each through the app's fast path prepared for that size, beside their mult-add ratio."""
    import torch

    from seg.model.fastpath import fast_path
    from seg.serve.inference import predict_logits

    rows = []
    for size in sizes:
        x = torch.rand(1, 3, size, size)
        fast_reg, fast_dsc = (fast_path(m, size) for m in (reg, dsc))  # packed for this size
        times = interleaved({"reg": lambda: predict_logits(fast_reg, x), "dsc": lambda: predict_logits(fast_dsc, x)},
                            reps if size <= 256 else max(3, reps // 3))
        reg_s, dsc_s = statistics.median(times["reg"]), statistics.median(times["dsc"])
        macs = [config_cost(m.config, size)["totals"]["mult_adds"]
                for m in (reg, dsc)]
        rows.append({"size": size, "regular_ms": reg_s * 1000, "dsc_ms": dsc_s * 1000,
                     "latency_ratio": reg_s / dsc_s, "mult_adds_ratio": macs[0] / macs[1]})
    return rows


def scaling_markdown(rows) -> str:
    """The table under the scaling chart, in the app and in bench.py's report."""
    lines = ["| input | regular ms | DSC ms | measured ratio | mult-add ratio |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['size']}×{r['size']} | {r['regular_ms']:.1f} | {r['dsc_ms']:.1f} | "
              f"{r['latency_ratio']:.2f}× | {r['mult_adds_ratio']:.2f}× |" for r in rows]
    return "\n".join(lines)


class Stopwatch:
    """Named, consecutive laps of one request in ms: the app's summary carries them and bench.py
    publishes their medians, so the breakdown is of the path users meet."""

    def __init__(self):
        self.started = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round((now - self.last) * 1000, 1)
        self.last = now

    def total_ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 1)
