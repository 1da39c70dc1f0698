"""bench.py's edge section: what DSC buys on the edge, per variant × runtime × precision.

Each file is exported (or reused from EXPORT_DIR when its card names the same checkpoint), then
timed and scored on all test images by `python -m seg.runtimes` in a process of its own: runtimes
in one process spin their thread pools against each other. The result is also written to
results/deploy.json, which the app's Deploy tab shows.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from seg.deploy.export import EXPORT_DIR, FORMATS, Target, ensure_export
from seg.model.checkpoint import CHECKPOINT_DIR, paths
from seg.model.variants import PAIR
from seg.tabs.deploy import RESULTS

ROOT = Path(__file__).resolve().parents[1]


def measure(file: Path, reps: int) -> dict:
    run = subprocess.run([sys.executable, "-m", "seg.runtimes", str(file), "--reps", str(reps), "--score"],
                         cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if run.returncode != 0:
        raise RuntimeError(f"seg.runtimes {file.name} failed:\n{run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def bench_deploy(machine: str, reps: int = 30, out_dir=EXPORT_DIR) -> list[dict]:
    rows = []
    for name in PAIR:
        weights = paths(CHECKPOINT_DIR, name)["weights"]
        rows.append({"model": name, "runtime": "torch", "precision": "fp32", "bytes": weights.stat().st_size,
                     **measure(weights, reps)})
        for fmt in FORMATS:
            for int8 in (False, True):
                card = ensure_export(Target(name, fmt, int8), out_dir)
                rows.append({"model": name, "runtime": fmt, "precision": "int8" if int8 else "fp32",
                             "bytes": card["bytes"], "agreement_with_eager": card["verification"]["pixel_agreement"],
                             "delegated": card.get("delegated", {}).get("fraction"),
                             **measure(Path(out_dir) / card["file"], reps)})
    RESULTS.write_text(json.dumps({"machine": machine, "date": time.strftime("%Y-%m-%d"), "rows": rows}, indent=1))
    return rows


def main(argv=None) -> int:
    """`python -m tools.bench_deploy`: bench.py's edge section alone (after a retraining, the
    Deploy tab's table without the rest of the benchmark)."""
    import argparse

    import torch

    from seg.machine import cpu_name
    from seg.tabs.deploy import table_markdown

    parser = argparse.ArgumentParser(prog="python -m tools.bench_deploy", description=main.__doc__)
    parser.add_argument("--reps", type=int, default=20, help="timed batch-1 runs per file")
    args = parser.parse_args(argv)
    rows = bench_deploy(f"{cpu_name()}, {torch.get_num_threads()} threads", reps=args.reps)
    print(table_markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
