"""`python -m seg.reports --write-docs | --check`: the docs' result tables from results/*.json."""

from __future__ import annotations

import argparse
import sys

from seg.reports import docs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seg.reports", description=docs.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write-docs", action="store_true", help="rewrite every table from its results file")
    action.add_argument("--check", action="store_true", help="exit 1 if a table differs from its results file")
    args = parser.parse_args(argv)
    if args.write_docs:
        for path in docs.write():
            print(f"rewrote {path.name}")
        return 0
    stale = docs.stale()
    for line in stale:
        print(f"stale: {line} (python -m seg.reports --write-docs)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
