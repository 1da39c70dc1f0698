"""`python -m tools.bench_browser [--warm N]`: both SegNets timed in headless Chromium on this
machine, through the app's own "On your device" page (onnxruntime-web, WebAssembly, one thread as
in the app's tab), fp32 and int8; the rows join results/deploy.json beside ONNX Runtime (Python)
and the torch fast path. bench.py and tools.bench_deploy run it as part of their edge section.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seg.deploy.browser import PRECISIONS
from seg.deploy.targets import EXPORT_DIR
from seg.files import SAMPLE_PHOTO
from seg.model.variants import PAIR
from seg.reports import deploy
from tools.chromium import CHROMIUM, FLAGS
from tools.launch import running_app

# The page's run has ended: its status says Done, or is an error, and nothing is running.
DONE = """() => { const s = document.querySelector('#status');
  return (s.textContent.startsWith('Done') || s.className === 'error') && !window.onDevice.state.busy; }"""


def available() -> str | None:
    """Why the browser cannot be timed here, or None where it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    return None if Path(CHROMIUM).exists() else "Chromium is not installed (apt-get install chromium)"


def measure(warm: int = 20, export_dir=EXPORT_DIR) -> list[dict]:
    """A row per model and precision: bytes, download, session, first-run and warm-median ms."""
    from playwright.sync_api import sync_playwright

    rows = []
    with running_app(SEG_EXPORT_DIR=export_dir) as (url, _, _), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        page.set_default_timeout(900_000)  # the first request for each file builds it
        page.goto(f"{url}ondevice/?warm={warm}")
        page.wait_for_function("window.onDevice && window.onDevice.state.ort")
        page.locator("#photo").set_input_files(str(SAMPLE_PHOTO))
        page.wait_for_function("document.querySelector('#status').textContent.includes('Press Run')")
        for precision in PRECISIONS:
            page.locator(f"input[name=precision][value={precision}]").check()
            page.locator("#run").click()
            page.wait_for_function(DONE)
            if not page.locator("#status").text_content().startswith("Done"):
                raise RuntimeError(f"the page failed: {page.locator('#status').text_content()}")
            last, runtime = page.evaluate("window.onDevice.last"), page.locator("#runtime").text_content()
            rows += [row(name, precision, last[name], warm, runtime) for name in PAIR]
        browser.close()
    return rows


def row(name: str, precision: str, measured: dict, warm: int, runtime: str) -> dict:
    return {"model": name, "runtime": "browser", "precision": precision, "bytes": measured["bytes"],
            "wire_bytes": measured["wire_bytes"], "latency_ms": {"median": measured["warm_ms"], "runs": warm},
            "first_run_ms": measured["first_ms"], "session_ms": measured["session_ms"],
            "download_ms": measured["download_ms"], "page_runtime": runtime}


def with_browser_rows(result: dict, warm: int = 20) -> dict:
    """result (deploy.json's content) with this machine's browser rows in place of any earlier ones."""
    why_not = available()
    if why_not:
        print(f"in-browser timings skipped: {why_not}", file=sys.stderr)
        return result
    kept = [r for r in result["rows"] if r["runtime"] != "browser"]
    return {**result, "rows": kept + measure(warm)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_browser", description=__doc__)
    parser.add_argument("--warm", type=int, default=20, help="timed runs after the first, per model")
    args = parser.parse_args(argv)
    result = deploy.load()
    if result is None:
        print(f"no {deploy.PATH} yet: run {deploy.COMMAND} (it runs this too)", file=sys.stderr)
        return 2
    if available():
        print(f"cannot time the browser here: {available()}", file=sys.stderr)
        return 2
    deploy.store.save(deploy.PATH, with_browser_rows(result, args.warm))
    print(deploy.markdown(deploy.load()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
