"""Regular vs depthwise-separable SegNet: masks side by side, a cost calculator, training replay.

This file lays out and wires the tabs; each tab (handlers and layout) lives in seg/tabs/.

    python app.py        # http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT override)
"""

from __future__ import annotations

import os
import sys
from contextlib import asynccontextmanager
from pathlib import Path

# Gradio imports IPython where it is installed, for its notebook magic and to ask whether it runs in
# a notebook: 0.2-0.6 s of every start. `python app.py` never runs in one, so it is told IPython is absent.
if __name__ == "__main__" and "IPython" not in sys.modules:
    sys.modules["IPython"] = None

# The page is built and served without torch (tests/test_pets.py holds every module here to it):
# importing torch and reading the checkpoints take seconds, which happen on the inference thread
# once the server answers (launch), so a visitor sees the page without waiting for them.
import anyio  # noqa: E402
import gradio as gr  # noqa: E402

from seg.deploy.browser import OnDevice  # noqa: E402
from seg.serve.models import Models  # noqa: E402
from seg.serve.uploads import CacheSweeper  # noqa: E402
from seg.tabs import cost, deploy, live, ondevice, results, segment, training  # noqa: E402

HERE = Path(__file__).resolve().parent
QUEUE_SIZE = int(os.environ.get("SEG_QUEUE_SIZE", 32))
MAX_UPLOAD = os.environ.get("SEG_MAX_UPLOAD", "10mb")
CACHE_TTL_S = int(os.environ.get("SEG_CACHE_TTL", 1800))  # uploads and outputs are deleted after this
SERVER_THREADS = int(os.environ.get("SEG_SERVER_THREADS", 2))  # a request and a file transfer at a time
ABOUT = (HERE / "seg" / "assets" / "about.md").read_text()


def build(checkpoint_dir=None, models: Models | None = None) -> gr.Blocks:
    checkpoint_dir = checkpoint_dir or os.environ.get("SEG_CHECKPOINT_DIR") or HERE / "checkpoints"
    models = models or Models(checkpoint_dir)
    with gr.Blocks(title="Regular vs depthwise-separable SegNet") as app:
        gr.Markdown("# Regular vs depthwise-separable convolutions, in one SegNet")
        with gr.Tab("Segment"):
            segment.SegmentTab(models, CACHE_TTL_S).render()
        with gr.Tab("Cost calculator"):
            cost.render(models)
        with gr.Tab("Live"):
            camera_status = live.LiveTab(models, CACHE_TTL_S).render()
        with gr.Tab("Results"):
            results.ResultsTab(models).render()
        with gr.Tab("Training"):
            training.render(training.TrainingRecord(checkpoint_dir, run=models.run))
        with gr.Tab("On your device"):
            ondevice.render()
        with gr.Tab("Deploy"):
            deploy.DeployTab(checkpoint_dir).render()
        with gr.Tab("About"):
            gr.Markdown(ABOUT)
        app.load(None, None, camera_status, js=live.CAMERA_CHECK)  # no camera, or denied: a line in the tab
    app.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
    # Not Gradio's delete_cache: that one deletes uploads of requests still waiting in the queue.
    app.sweeper = CacheSweeper(app, CACHE_TTL_S).start()
    app.checkpoint_dir, app.models = checkpoint_dir, models
    return app


@asynccontextmanager
async def bounded_threads(_app):
    """Starlette's thread pool (uploads, file downloads) and Gradio's event functions share anyio's
    default limiter: 40 threads, which a burst of requests would start (2 -> 17 measured for 20
    at once). The work is one model run at a time, so a few threads serve it as well."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = SERVER_THREADS
    yield


def launch(app: gr.Blocks, prevent_thread_lock: bool = False, **kwargs):
    """Serve the app, with the "On your device" page's routes (seg/deploy/browser.py) beside Gradio's;
    once it answers, load and warm the models on their thread (a first request queues behind them)."""
    routes = OnDevice(app.checkpoint_dir).routes()
    served = app.launch(max_file_size=MAX_UPLOAD, show_error=False, prevent_thread_lock=True,
                        app_kwargs={"lifespan": bounded_threads, "routes": routes}, **kwargs)
    app.models.warm_up()
    if not prevent_thread_lock:
        app.block_thread()
    return served


if __name__ == "__main__":
    launch(build())
