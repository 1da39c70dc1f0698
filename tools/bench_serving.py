"""bench.py's serving section: the app as users meet it, next to direct calls of the same path.

One 1280×1280 photo from ../shared/photos; the direct calls run in this process first, then
`python app.py` is launched and driven through gradio_client (one request at a time, then 20
at once), its threads and memory read from /proc.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

from seg.model.checkpoint import CHECKPOINT_DIR, paths
from seg.model.variants import PAIR  # /segment runs the pair
from seg.serve.inference import load_variant, segment_photo
from seg.serve.photos import load_photo
from seg.serve.timing import median_min_max

PHOTO = Path(__file__).resolve().parents[2] / "shared" / "photos" / "dog1.jpg"
SIZE = 1280


def stats(values) -> dict:
    return median_min_max(values)  # already ms


def bench_photo() -> Path:
    path = Path(tempfile.mkdtemp()) / f"photo-{SIZE}.jpg"
    Image.open(PHOTO).convert("RGB").resize((SIZE, SIZE)).save(path, quality=92)
    return path


def direct_model_ms(photo: Path, reps: int) -> dict:
    """Each model's ms through the app's code path (`segment_photo`), called from this thread:
    back to back, and with a request's image work (decode, display copy) between calls, which
    leaves the caches and the OpenMP workers as a request leaves them."""
    from seg.serve.outputs import display_copy

    # Loaded and run on this thread only: a second thread's OpenMP team (Models' inference
    # thread, idle-spinning) would slow these calls, the very effect the app's one thread avoids.
    loaded = {n: load_variant(paths(CHECKPOINT_DIR, n)["weights"]) for n in PAIR}
    image = load_photo(photo)
    segment_photo(image, loaded)  # warm-up
    hot = [segment_photo(image, loaded) for _ in range(reps)]
    between = []
    for _ in range(reps):
        display_copy(load_photo(photo))
        between.append(segment_photo(image, loaded))
    return {n: {"back_to_back": stats([r[n]["ms"] for r in hot]),
                "after_image_work": stats([r[n]["ms"] for r in between])} for n in PAIR}


def proc_status(pid: int) -> dict:
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    return {"threads": int(fields["Threads"]), "rss_mb": int(fields["VmRSS"].split()[0]) / 1024,
            "peak_rss_mb": int(fields["VmHWM"].split()[0]) / 1024}


class ThreadWatch:
    """The most threads the server had while a block ran (sampled every 20 ms)."""

    def __init__(self, pid: int):
        self.pid, self.most, self._done = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._done.wait(0.02):
            self.most = max(self.most, proc_status(self.pid)["threads"])

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()


def bench_app(requests: int = 12) -> dict:
    from gradio_client import Client, handle_file

    from tools.launch import local_client, running_app

    photo = bench_photo()
    direct = direct_model_ms(photo, requests)

    def timed_request(_=None, via=None):
        start = time.perf_counter()
        summary = (via or client).predict(handle_file(str(photo)), 0.5, api_name="/segment")[5]
        return (time.perf_counter() - start) * 1000, summary

    with running_app() as (url, proc, startup_s):
        client = local_client(url)  # see its docstring: the defaults cost ~50 ms per connection
        default_client = Client(url, verbose=False)
        sequential = [timed_request() for _ in range(requests + 1)][1:]  # the first warms the cache dirs
        with_defaults = [timed_request(via=default_client)[0] for _ in range(max(3, requests // 2))]
        with ThreadWatch(proc.pid) as one:
            timed_request()
        after_one = proc_status(proc.pid)
        with ThreadWatch(proc.pid) as crowd, ThreadPoolExecutor(20) as pool:  # 20 people at once
            concurrent = sorted(ms for ms, _ in pool.map(timed_request, range(20), timeout=600))
        after_twenty = proc_status(proc.pid)
    summaries = [s for _, s in sequential]
    app_ms = {n: stats([s["models"][n]["ms"] for s in summaries]) for n in PAIR}
    return {"photo": f"{PHOTO.name} resized to {SIZE}×{SIZE}", "start_to_ready_s": startup_s,
            "model_ms": {n: {"app": app_ms[n], **direct[n],
                             "app_over_direct": app_ms[n]["median"] / direct[n]["back_to_back"]["median"]}
                         for n in PAIR},
            "server_ms": stats([s["server_ms"] for s in summaries]),
            "round_trip_ms": stats([ms for ms, _ in sequential]),
            "round_trip_ms_client_defaults": stats(with_defaults),
            "stages_ms": {k: statistics.median(s["stages_ms"][k] for s in summaries)
                          for k in summaries[0]["stages_ms"]},
            "concurrent_20": {"served": len(concurrent), "p50_ms": statistics.median(concurrent),
                              "max_ms": concurrent[-1]},
            "server": {"threads_one_request": one.most, "threads_twenty_requests": crowd.most,
                       "rss_mb_after_one": after_one["rss_mb"], "rss_mb_after_twenty": after_twenty["rss_mb"],
                       "peak_rss_mb_after_one": after_one["peak_rss_mb"],
                       "peak_rss_mb_after_twenty": after_twenty["peak_rss_mb"]}}
