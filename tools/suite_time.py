"""`python -m tools.suite_time [--quick]`: the test suite's wall-clock time here, with the CPU.

Runs the README's test command (or the quick loop with --quick) in a child process and prints
the seconds it took and what pytest reported, so the time is measured the way a person waits
for it: collection, imports and every fixture included.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from seg.machine import cpu_name
from seg.reports import waits

QUICK = ["-m", "not slow and not browser"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.suite_time", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the quick loop instead of the whole suite")
    args = parser.parse_args(argv)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *(QUICK if args.quick else [])]
    start = time.perf_counter()
    run = subprocess.run(command, cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-500:]
    print(f"{'quick loop' if args.quick else 'full suite'}: {seconds:.0f} s on {cpu_name()}, "
          f"{os.cpu_count()} CPUs — {summary}")
    if run.returncode == 0:  # a suite that fails has no time worth keeping
        tests = re.sub(r" in [\d.]+s.*", "", summary.strip("= "))
        waits.record("quick" if args.quick else "full", {"seconds": round(seconds, 1), "tests": tests})
        print(f"wrote {waits.PATH}")
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
