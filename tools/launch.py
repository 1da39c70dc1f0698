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


def main() -> None:
    """`python -m tools.launch [N]`: the app's start-to-ready seconds over N launches (bench.py
    measures one, inside its serving run)."""
    import statistics

    launches = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    seconds = []
    for _ in range(launches):
        with running_app() as (_, _, startup_s):
            seconds.append(startup_s)
    print(f"app start to ready over {launches} launches: median {statistics.median(seconds):.1f} s "
          f"(min {min(seconds):.1f}, max {max(seconds):.1f})")


if __name__ == "__main__":
    main()
