"""The cache sweep never deletes the upload of a request still waiting for its turn.

A real app in this process, a real queue: the inference thread is held by a gate, so the
requests stand in the queue for as long as the test wants, whatever this machine's speed.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from seg.serve.models import Models
from seg.serve.uploads import collect_paths, files_in_flight, sweep
from tools.launch import free_port, local_client

gradio_client = pytest.importorskip("gradio_client")
pytestmark = pytest.mark.slow
WAITING = 3


def test_collect_paths_finds_file_payloads_at_any_depth():
    found = set()
    collect_paths([{"path": "/a.png", "meta": {"_type": "gradio.FileData"}}, 0.5,
                   {"x": [{"path": "/b.png"}], "path": None}], found)
    assert found == {"/a.png", "/b.png"}


def test_sweep_deletes_only_old_files_not_in_flight(tmp_path):
    upload, output, queued, running, kept = (tmp_path / n for n in ("upload", "output", "queued", "running", "kept"))
    for path in (upload, output, queued, running, kept):
        path.write_bytes(b"x")
    event = lambda path: SimpleNamespace(data=SimpleNamespace(data=[{"path": str(path)}, 0.5]))  # noqa: E731
    blocks = SimpleNamespace(
        _queue=SimpleNamespace(event_queue_per_concurrency_id={"models": SimpleNamespace(queue=[event(queued)])},
                               active_jobs=[None, [event(running)]]),
        blocks={1: SimpleNamespace(keep_in_cache={str(kept)})},
        temp_file_sets=[{str(upload), str(queued), str(running), str(kept)}, {str(output)}])
    assert sweep(blocks, 50) == []  # all just written: younger than the TTL
    deleted = sweep(blocks, 50, now=time.time() + 100)
    assert sorted(deleted) == sorted([str(upload), str(output)])
    assert queued.exists() and running.exists() and kept.exists() and not upload.exists()
    assert blocks.temp_file_sets == [{str(queued), str(running), str(kept)}, set()]


@pytest.fixture
def gated_app(tiny_checkpoints, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "cache"))
    import app as app_module

    models = Models(tiny_checkpoints)
    demo = app_module.build(tiny_checkpoints, models=models)
    demo.sweeper.stop()  # the test sweeps by hand, at the moment it chooses
    port = free_port()
    demo.launch(server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield demo, models, f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def test_queued_uploads_survive_a_sweep_and_are_served(gated_app, tmp_path):
    demo, models, url = gated_app
    gate = threading.Event()
    models._worker.submit(gate.wait)  # the inference thread is busy until the gate opens
    client = local_client(url)
    photos = []
    for i in range(WAITING):
        path = tmp_path / f"photo{i}.png"
        Image.fromarray(np.full((40 + i, 50, 3), 40 * i, dtype=np.uint8)).save(path)
        photos.append(path)
    jobs = [client.submit(gradio_client.handle_file(str(p)), 0.5, api_name="/segment") for p in photos]
    try:
        deadline = time.monotonic() + 60
        while len(files_in_flight(demo)) < WAITING:  # all three uploaded and queued (or running)
            assert time.monotonic() < deadline, "the requests never reached the queue"
            time.sleep(0.1)
        in_flight = files_in_flight(demo)
        sweep(demo, 0)  # every file is "older than the TTL" now
        assert all(Path(p).exists() for p in in_flight)
    finally:
        gate.set()
    sizes = [Image.open(job.result(timeout=120)[2]).size for job in jobs]
    assert sizes == [(50, 40 + i) for i in range(WAITING)]
    assert not files_in_flight(demo)
    uploads = set(demo.upload_file_set)
    sweep(demo, 0)
    assert uploads and not any(Path(p).exists() for p in uploads)  # done: now they go
