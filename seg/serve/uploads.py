"""The app's file cache: uploads and outputs older than the TTL are deleted, except the files of
requests still waiting in the queue or running.

Gradio's own `delete_cache` sweep deletes by age alone, so on a slow machine with a long queue
it deleted the upload of a request still waiting for its turn, which then failed as "the file
is empty". This sweep reads the queue first. It reads Gradio's queue internals
(`Queue.event_queue_per_concurrency_id`, `Queue.active_jobs`, `Event.data`): gradio is pinned in
requirements.txt, and tests/test_uploads.py checks them against a real queue.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path


def files_in_flight(blocks) -> set[str]:
    """The files named in the inputs of every queued or running event of this app."""
    queue = getattr(blocks, "_queue", None)
    if queue is None:
        return set()
    events = [event for waiting in list(queue.event_queue_per_concurrency_id.values()) for event in list(waiting.queue)]
    events += [event for job in list(queue.active_jobs) if job for event in job]
    found: set[str] = set()
    for event in events:
        if event.data is not None:
            collect_paths(event.data.data, found)
    return found


def collect_paths(value, found: set[str]) -> None:
    """Every `path` of a FileData payload nested in the inputs of a request."""
    if isinstance(value, dict):
        if isinstance(value.get("path"), str):
            found.add(value["path"])
        for item in value.values():
            collect_paths(item, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            collect_paths(item, found)


def sweep(blocks, age_s: float | None, now: float | None = None) -> list[str]:
    """Delete the app's cached files older than age_s (all of them if None), sparing the files of
    requests in flight and those Gradio keeps (examples, defaults). Returns the deleted paths."""
    now = time.time() if now is None else now
    spared = files_in_flight(blocks)
    for block in list(blocks.blocks.values()):
        spared.update(getattr(block, "keep_in_cache", ()))
    spared = {os.path.realpath(p) for p in spared}
    deleted = []
    for files in blocks.temp_file_sets:
        for file in list(files):  # a copy: request threads add to these sets meanwhile
            if os.path.realpath(file) in spared:
                continue
            try:
                if age_s is None or now - Path(file).lstat().st_ctime > age_s:
                    os.remove(file)
                    deleted.append(file)
                    files.discard(file)
            except FileNotFoundError:
                files.discard(file)  # already gone
    return deleted


class CacheSweeper:
    """Sweeps every `every_s` seconds on a daemon thread (so the app never waits on it)."""

    def __init__(self, blocks, ttl_s: float, every_s: float | None = None):
        self.blocks, self.ttl_s = blocks, ttl_s
        self.every_s = every_s or max(1.0, ttl_s / 3)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cache-sweep", daemon=True)

    def start(self) -> CacheSweeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                sweep(self.blocks, self.ttl_s)
            except Exception as err:  # a failed sweep must never stop the next one
                print(f"cache sweep failed: {err!r}", flush=True)
