"""A soak: `python app.py` on loopback under mixed traffic from several clients for N minutes.

    python -m tools.soak --minutes 10              # -> results/soak.json (the README's reliability table)
    python -m tools.soak --minutes 1 --no-save     # a quick look, printed only

Each client loops over photos (/segment), variants (/segment_variants), clips (/race_video), cost
changes (/cost), on-device model downloads (GET /ondevice/...), and bad input of every door (a text
file as a photo or a clip, wrong JSON, a path out of the model folder). A bad request answered
with its message is a success; an error without one ("upstream ... exception", a 5xx), or no answer,
is counted against the app. The server's RSS, threads, open files and disk (its uploads, outputs
and exports, all under one temporary folder) are read every 15 s under load (their peaks), and
at rest after the warm-up and at the end: traffic paused, the cache's time to live passed, one
photo served (which sweeps the old outputs) — the same state twice, so a leak shows as a
difference. The app runs with SEG_CACHE_TTL=60 so that a 10-minute soak sees its sweeps work.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from tools.bench_serving import proc_status
from tools.launch import local_client, running_app

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "photos"
GENERIC = "upstream Gradio app has raised an exception"  # an error the app did not explain
CACHE_TTL_S = 60
MODEL_FILE = "ondevice/models/segnet_dsc-fp32.onnx"
VARIANT_CHOICES = ["segnet_dsc_deep", "segnet_dsc_shallow", "unet_dsc", "unet_regular", "segnet_dsc"]


def server_state(pid: int, folder: Path) -> dict:
    status = proc_status(pid)
    disk = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    return {"rss_mb": round(status["rss_mb"], 1), "threads": status["threads"],
            "open_files": len(os.listdir(f"/proc/{pid}/fd")), "disk_mb": round(disk / 1e6, 2)}


class Inputs:
    """The files the clients send, made once in the soak's folder."""

    def __init__(self, folder: Path):
        from PIL import Image

        from seg.serve.video import synthetic_clip

        self.photos = sorted(PHOTOS.glob("*.jpg")) if PHOTOS.is_dir() else []
        if not self.photos:  # no ../shared: a made-up photo
            self.photos = [folder / "photo.jpg"]
            Image.new("RGB", (640, 480), (120, 90, 60)).save(self.photos[0])
        self.clip = synthetic_clip(folder / "clip.mp4", seconds=1, fps=10, size=(96, 64))
        self.text = folder / "notes.jpg"
        self.text.write_text("not a photo\n" * 100)
        self.fake_clip = folder / "notes.mp4"
        self.fake_clip.write_text("not a clip\n" * 100)


def actions(client, url: str, inputs: Inputs, rng: random.Random) -> dict:
    """name: (weight, call, expected message or None). A call raises on failure or returns."""
    from gradio_client import handle_file

    def get(path, expect_status=200):
        try:
            with urllib.request.urlopen(url + path, timeout=120) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as err:
            status = err.code
        if status != expect_status:
            raise RuntimeError(f"GET {path}: {status}")

    photo = lambda: handle_file(str(rng.choice(inputs.photos)))  # noqa: E731
    return {
        "photo": (30, lambda: client.predict(photo(), 0.5, api_name="/segment"), None),
        "variants": (12, lambda: client.predict(photo(), rng.sample(VARIANT_CHOICES, 2), 0.5,
                                                 api_name="/segment_variants"), None),
        "clip": (5, lambda: client.predict(handle_file(str(inputs.clip)), api_name="/race_video"), None),
        "cost": (20, lambda: client.predict(rng.randrange(32, 513), rng.choice([1, 3, 5, 7]), rng.randrange(8, 257, 8),
                                            rng.randrange(1, 5), rng.sample(["enc1", "enc3", "dec2"], 1),
                                            api_name="/cost"), None),
        "download": (8, lambda: (get("ondevice/config.json"), get(MODEL_FILE)), None),
        "bad photo": (5, lambda: client.predict(handle_file(str(inputs.text)), 0.5, api_name="/segment"),
                      "not an image"),
        "bad variants": (5, lambda: client.predict(photo(), [1, {"a": 2}], 0.5, api_name="/segment_variants"),
                         "must be a list of names"),
        "bad cost": (5, lambda: client.predict(128, "x", 64, 4, [], api_name="/cost"), "whole number"),
        "bad clip": (5, lambda: client.predict(handle_file(str(inputs.fake_clip)), api_name="/race_video"),
                     "not a video"),
        "bad path": (5, lambda: get("ondevice/models/..%2F..%2Fapp.py", expect_status=404), None),
    }


def one_request(call, expected) -> tuple[str, str]:
    """(outcome, detail): ok, or error with the reason."""
    try:
        call()
    except Exception as err:  # every failure is recorded, none stops the soak
        message = str(err)
        if expected is not None and expected.lower() in message.lower() and GENERIC not in message:
            return "ok", ""
        return "error", f"{type(err).__name__}: {message[:200]}"
    return ("error", "a bad request was accepted") if expected is not None else ("ok", "")


class Traffic:
    """The clients' shared switches: stop, pause (no new requests), and how many are in flight."""

    def __init__(self):
        self.stop, self.pause, self.lock = threading.Event(), threading.Event(), threading.Lock()
        self.in_flight, self.records = 0, []

    def idle(self) -> None:
        """Pause, and return once every request in flight has its answer."""
        self.pause.set()
        while True:
            with self.lock:
                if self.in_flight == 0:
                    return
            time.sleep(0.1)


def client_loop(url, inputs, seed, traffic: Traffic):
    rng = random.Random(seed)
    client = local_client(url)
    table = actions(client, url, inputs, rng)
    names, weights = list(table), [w for w, _, _ in table.values()]
    while not traffic.stop.is_set():
        with traffic.lock:
            paused = traffic.pause.is_set()
            traffic.in_flight += not paused
        if paused:
            time.sleep(0.1)
            continue
        name = rng.choices(names, weights)[0]
        _, call, expected = table[name]
        began = time.perf_counter()
        outcome, detail = one_request(call, expected)
        with traffic.lock:
            traffic.in_flight -= 1
            traffic.records.append({"kind": name, "ms": (time.perf_counter() - began) * 1000, "outcome": outcome,
                                    "detail": detail, "at": time.time()})


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else None


def summarise(records, start, end, peaks, minutes, clients, warmup_s, cpu, after_ok) -> dict:
    kinds = sorted({r["kind"] for r in records})
    ms = [r["ms"] for r in records]
    within = {k: abs(end[k] - start[k]) <= 0.1 * max(start[k], 1e-9) for k in start}
    return {"minutes": minutes, "clients": clients, "warmup_s": warmup_s, "cpu": cpu,
            "requests": len(records), "errors": sum(r["outcome"] == "error" for r in records),
            "error_examples": sorted({r["detail"] for r in records if r["outcome"] == "error"})[:5],
            "p50_ms": statistics.median(ms), "p99_ms": percentile(ms, 99),
            "by_kind": {k: {"requests": sum(r["kind"] == k for r in records),
                            "errors": sum(r["kind"] == k and r["outcome"] == "error" for r in records),
                            "p50_ms": statistics.median([r["ms"] for r in records if r["kind"] == k]),
                            "p99_ms": percentile([r["ms"] for r in records if r["kind"] == k], 99)} for k in kinds},
            "server_after_warmup": start, "server_at_end": end, "server_peak_under_load": peaks,
            "within_10_percent": within, "normal_photo_after": after_ok,
            "command": f"python -m tools.soak --minutes {minutes:g}"}


def at_rest(traffic: Traffic, url: str, inputs: Inputs, pid: int, folder: Path) -> tuple[dict, bool]:
    """The server's state with no traffic, the cache's time to live passed and one photo served."""
    from gradio_client import handle_file

    traffic.idle()
    time.sleep(CACHE_TTL_S + 30)  # the sweeper runs every TTL / 3
    photo_ok = one_request(lambda: local_client(url).predict(handle_file(str(inputs.photos[0])), 0.5,
                                                             api_name="/segment"), None)[0] == "ok"
    return server_state(pid, folder), photo_ok


def sample_peaks(pid: int, folder: Path, traffic: Traffic, peaks: dict) -> None:
    while not traffic.stop.wait(15):
        if not traffic.pause.is_set():
            for key, value in server_state(pid, folder).items():
                peaks[key] = max(peaks.get(key, value), value)


def soak(minutes: float, clients: int = 4, seed: int = 0) -> dict:
    from seg.machine import cpu_name

    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    inputs = Inputs(folder / "inputs")
    served = folder / "server"  # the app's temporary files: uploads, outputs, exports
    served.mkdir()
    env = {"TMPDIR": served, "GRADIO_TEMP_DIR": served / "gradio", "SEG_EXPORT_DIR": served / "exports",
           "SEG_CACHE_TTL": CACHE_TTL_S}
    warmup_s = min(120.0, max(20.0, minutes * 60 * 0.15))
    traffic, peaks = Traffic(), {}
    with running_app(**env) as (url, proc, _):
        workers = [threading.Thread(target=client_loop, args=(url, inputs, seed + i, traffic), daemon=True)
                   for i in range(clients)]
        workers.append(threading.Thread(target=sample_peaks, args=(proc.pid, served, traffic, peaks), daemon=True))
        for worker in workers:
            worker.start()
        time.sleep(warmup_s)
        start, _ = at_rest(traffic, url, inputs, proc.pid, served)
        measured_from = len(traffic.records)
        traffic.pause.clear()
        time.sleep(minutes * 60)
        end, after_ok = at_rest(traffic, url, inputs, proc.pid, served)
        traffic.stop.set()
        for worker in workers:
            worker.join(timeout=300)
        lost = sum(worker.is_alive() for worker in workers)  # a client still waiting for an answer
    shutil.rmtree(folder, ignore_errors=True)
    result = summarise(traffic.records[measured_from:], start, end, peaks, minutes, clients, warmup_s, cpu_name(),
                       after_ok)
    return {**result, "lost": lost, "warmup_requests": measured_from, "cache_ttl_s": CACHE_TTL_S}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--no-save", action="store_true", help="print, do not write results/soak.json")
    args = parser.parse_args(argv)
    if not 0 < args.minutes <= 120 or not 1 <= args.clients <= 32:
        parser.error("--minutes must be in (0, 120] and --clients in [1, 32]")
    from seg.reports import soak as report
    from seg.reports import store

    result = soak(args.minutes, args.clients)
    if not args.no_save:
        store.save(report.PATH, result)
    print(report.markdown(result))
    return 0 if result["errors"] == 0 and result["lost"] == 0 and result["normal_photo_after"] else 1


if __name__ == "__main__":
    sys.exit(main())
