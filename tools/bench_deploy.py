"""`python -m tools.bench_deploy`: what DSC buys on the edge, measured here (seg/reports/deploy.py,
and in headless Chromium by tools/bench_browser.py) and written to results/deploy.json; bench.py
runs the same as its edge section."""

from __future__ import annotations

import argparse
import sys

import torch

from seg.machine import cpu_name
from seg.reports import deploy
from tools import bench_browser


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_deploy", description=__doc__)
    parser.add_argument("--reps", type=int, default=20, help="timed batch-1 runs per file")
    args = parser.parse_args(argv)
    result = deploy.measure(f"{cpu_name()}, {torch.get_num_threads()} threads", reps=args.reps)
    result = bench_browser.with_browser_rows(result)  # the same ONNX files in headless Chromium
    deploy.store.save(deploy.PATH, result)
    print(deploy.markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
