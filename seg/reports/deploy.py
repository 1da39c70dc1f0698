"""What DSC buys on the edge, per variant × runtime × precision: results/deploy.json.

Each file is exported (or reused from EXPORT_DIR when its card names the same checkpoint), then
timed and scored on all test images by `python -m seg.runtimes` in a process of its own: runtimes
in one process spin their thread pools against each other. The Deploy tab and
docs/deploy.md show it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from seg.deploy.targets import EXPORT_DIR, FORMATS, Target
from seg.files import REPO, RESULTS
from seg.model.checkpoint import CHECKPOINT_DIR, paths
from seg.model.variants import PAIR, VARIANTS
from seg.reports import store

PATH = RESULTS / "deploy.json"
COMMAND = "python -m tools.bench_deploy"
RUNTIMES = {"torch": "PyTorch (the app's fast path)", "onnx": "ONNX Runtime", "pte": "ExecuTorch + XNNPACK",
            "browser": "onnxruntime-web in Chromium (WASM, 1 thread)"}  # browser: tools/bench_browser.py


def run_file(file: Path, reps: int) -> dict:
    """Time and score one file in a process of its own (seg.runtimes' JSON line)."""
    run = subprocess.run([sys.executable, "-m", "seg.runtimes", str(file), "--reps", str(reps), "--score"],
                         cwd=REPO, capture_output=True, text=True, timeout=1800)
    if run.returncode != 0:
        raise RuntimeError(f"seg.runtimes {file.name} failed:\n{run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def measure(machine: str, reps: int = 30, out_dir=EXPORT_DIR) -> dict:
    """Every file of the pair, exported (or reused) and measured: the content of PATH."""
    from seg.deploy.export import ensure_export  # torch: only where files are measured

    rows = []
    for name in PAIR:
        weights = paths(CHECKPOINT_DIR, name)["weights"]
        rows.append({"model": name, "runtime": "torch", "precision": "fp32", "bytes": weights.stat().st_size,
                     **run_file(weights, reps)})
        for fmt in FORMATS:
            for int8 in (False, True):
                card = ensure_export(Target(name, fmt, int8), out_dir)
                rows.append({"model": name, "runtime": fmt, "precision": "int8" if int8 else "fp32",
                             "bytes": card["bytes"], "agreement_with_eager": card["verification"]["pixel_agreement"],
                             "delegated": card.get("delegated", {}).get("fraction"),
                             **run_file(Path(out_dir) / card["file"], reps)})
    return {"machine": machine, "date": time.strftime("%Y-%m-%d"), "command": COMMAND, "rows": rows}


def load(path=PATH) -> dict | None:
    return store.load(path)


def markdown(result: dict) -> str:
    heading = f"Measured by `{result.get('command', COMMAND)}` on {result['machine']} ({result['date']}):"
    return f"{heading}\n\n{table_markdown(result['rows'])}"


def ratio_rows(rows: list[dict]) -> list[tuple]:
    """(runtime, precision, regular row, DSC row) for every pair measured."""
    by_key = {(r["model"], r["runtime"], r["precision"]): r for r in rows}
    regular, dsc = PAIR
    return [(rt, pr, by_key[(regular, rt, pr)], by_key[(dsc, rt, pr)])
            for rt in RUNTIMES for pr in ("fp32", "int8") if (dsc, rt, pr) in by_key]


def table_markdown(rows: list[dict]) -> str:
    out = ["| runtime | precision | file MB regular / DSC (×) | batch-1 ms regular / DSC, median (×) | "
           "pixel acc regular / DSC | mIoU regular / DSC |", "|---|---|---|---|---|---|"]
    for runtime, precision, reg, dsc in ratio_rows(rows):
        ms_reg, ms_dsc = reg["latency_ms"]["median"], dsc["latency_ms"]["median"]
        out.append(f"| {RUNTIMES[runtime]} | {precision} | {reg['bytes'] / 1e6:.1f} / {dsc['bytes'] / 1e6:.2f} "
                   f"({reg['bytes'] / dsc['bytes']:.1f}×) | {ms_reg:.1f} / {ms_dsc:.1f} ({ms_reg / ms_dsc:.1f}×) | "
                   f"{accuracy_cells(reg, dsc)} |")
    fp32 = {(r["model"], r["runtime"]): r for r in rows if r["precision"] == "fp32"}
    drops = [f"{VARIANTS[r['model']].title}, {RUNTIMES[r['runtime']]}: "
             f"{(fp32[(r['model'], r['runtime'])]['pixel_accuracy'] - r['pixel_accuracy']) * 100:+.2f} points"
             for r in rows if r["precision"] == "int8" and "pixel_accuracy" in r]
    out += ["", "int8's accuracy cost (fp32 − int8 pixel accuracy, all test images): " + "; ".join(drops) + "."]
    return "\n".join(out + browser_notes(rows))


def accuracy_cells(reg: dict, dsc: dict) -> str:
    if "pixel_accuracy" not in reg:  # the browser runs ONNX Runtime's files: their accuracy is that row's
        return "as ONNX Runtime (the same files) | as ONNX Runtime"
    return f"{reg['pixel_accuracy']:.2%} / {dsc['pixel_accuracy']:.2%} | {reg['miou']:.3f} / {dsc['miou']:.3f}"


def browser_notes(rows: list[dict]) -> list[str]:
    """What a visitor waits for besides the runs: the first run and the session, per precision."""
    notes = [f"{precision}: first run {reg['first_run_ms']:.0f} / {dsc['first_run_ms']:.0f} ms, session created "
             f"in {reg['session_ms']:.0f} / {dsc['session_ms']:.0f} ms, "
             f"{dsc['wire_bytes'] / 1e6:.2f} MB of DSC on the wire"
             for runtime, precision, reg, dsc in ratio_rows(rows) if runtime == "browser"]
    return ["", "In the browser (`python -m tools.bench_browser`: regular / DSC, the sample photo, warm median of "
            f"{next(r for r in rows if r['runtime'] == 'browser')['latency_ms']['runs']} runs): "
            + "; ".join(notes) + "."] if notes else []
