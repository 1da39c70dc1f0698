"""Start the real `python app.py` on a free loopback port, and stop it afterwards.

For the tests and bench.py: both measure the app as a user starts it. `python -m tools.launch N`
prints the start-to-ready time of N launches.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository: tools/ sits beside app.py


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(timeout_s: float = 120, **env):
    port = free_port()
    environment = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False",
                   "PYTHONUNBUFFERED": "1", **{k: str(v) for k, v in env.items()}}
    log = tempfile.TemporaryFile("w+")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    try:
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"app.py exited with {proc.returncode}:\n{log.read()[-3000:]}")
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if time.perf_counter() - started > timeout_s:
                    raise TimeoutError(f"app.py did not answer on {url} within {timeout_s} s")
                time.sleep(0.25)
        yield url, proc, time.perf_counter() - started
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def local_client(url: str):
    """A gradio_client for the app on loopback. ssl_verify=False: on plain http it changes nothing
    but time — by default gradio_client builds a verified SSL context (loading the CA bundle) for
    every httpx client it opens, one per upload, stream and downloaded file, ~50 ms each."""
    from gradio_client import Client

    return Client(url, verbose=False, ssl_verify=False)


def first_masks_s(url: str, started_s: float) -> float:
    """Seconds from the start to the first /segment answer, asked the moment the page answered:
    what a visitor who drops a photo at once waits for (the models' loading and warm-up included)."""
    from gradio_client import handle_file

    from seg.files import SAMPLE_PHOTO

    began = time.perf_counter()
    local_client(url).predict(handle_file(str(SAMPLE_PHOTO)), 0.5, api_name="/segment")
    return started_s + time.perf_counter() - began


def main() -> None:
    """`python -m tools.launch [N]`: over N launches, the seconds from `python app.py` to the page
    answering (start to ready) and to the first masks answered (bench.py measures one launch)."""
    import statistics

    from seg.machine import cpu_name
    from seg.reports import waits

    launches = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    ready, masks = [], []
    for _ in range(launches):
        with running_app() as (url, _, startup_s):
            ready.append(startup_s)
            masks.append(first_masks_s(url, startup_s))
    for section, label, seconds in (("ready", "start to ready", ready),
                                    ("first_masks", "start to the first masks", masks)):
        print(f"{label} over {launches} launches on {cpu_name()}: median {statistics.median(seconds):.1f} s "
              f"(min {min(seconds):.1f}, max {max(seconds):.1f})")
        waits.record(section, {"seconds": round(statistics.median(seconds), 2), "min_s": round(min(seconds), 2),
                               "max_s": round(max(seconds), 2), "runs": launches})
    print(f"wrote {waits.PATH}")


if __name__ == "__main__":
    main()
