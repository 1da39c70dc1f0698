"""The shipped variants, loaded and run on one inference thread: a photo in, masks and ms out.

Torch-free at import: the app builds and serves its page first, and the inference thread
imports torch (seg.serve.inference) and reads the checkpoints behind it.
"""

from __future__ import annotations

import os
import reprlib
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from PIL import Image

from seg.model.checkpoint import CHECKPOINT_DIR, CheckpointError, paths, train_command
from seg.model.variants import PAIR, VARIANTS


@dataclass(frozen=True)
class Loading:
    """What the inference thread's loading found."""

    device: object  # torch.device
    loaded: dict  # {name: seg.serve.inference.Loaded}
    errors: dict  # {name: message naming the fix}


class Models:
    """The shipped variants; a broken checkpoint never stops the app, it is named in `errors` with
    the command that re-creates it.

    Nothing is read when a Models is made: the first `start`, `run` or look at `loaded` / `errors`
    / `device` queues the loading (torch's import, then each checkpoint read and checked) on the
    inference thread, and a look waits for it. `warm_up` also builds and warms the pair's fast
    paths there; the app calls it once its server answers, so the page never waits for torch, and
    a first request queues behind the loading on the same thread.

    All model work (loading, warm-up, every run) happens on one long-lived thread, `run()`'s:
    each new calling thread would otherwise bring its own OpenMP team, which competes with the
    idle-spinning team of the thread that warmed the models up, and the ms shown would be
    partly thread contention. An exception in one run is raised to its caller; the thread lives on.
    In a forked child (ZeroGPU runs `spaces.GPU` functions in one) that thread did not come
    along: there the work runs in the calling thread, the child's only one.
    """

    THREAD_NAME = "inference"

    def __init__(self, checkpoint_dir=CHECKPOINT_DIR, device=None, names=VARIANTS):
        self.checkpoint_dir, self.names, self._device = checkpoint_dir, tuple(names), device
        self._worker = ThreadPoolExecutor(1, thread_name_prefix=self.THREAD_NAME)
        self._owner_pid = os.getpid()
        self._start_lock = threading.Lock()
        self._loading: Future | None = None

    def start(self) -> Future:
        """Queue the loading on the inference thread (once); returns at once."""
        with self._start_lock:
            if self._loading is None:
                self._loading = self._call(self._load)
            return self._loading

    def _load(self) -> Loading:
        from seg.serve.inference import inference_device, load_variant

        device = self._device or inference_device()
        loaded, errors = {}, {}
        for name in self.names:
            try:
                loaded[name] = load_variant(paths(self.checkpoint_dir, name)["weights"], device)
            except CheckpointError as err:
                command = train_command(name)
                errors[name] = str(err) if command in str(err) else f"{err}. Re-create it with `{command}`"
        return Loading(device, loaded, errors)

    @property
    def device(self):
        return self.start().result().device

    @property
    def loaded(self) -> dict:
        """{name: seg.serve.inference.Loaded} of the checkpoints that read and checked out."""
        return self.start().result().loaded

    @property
    def errors(self) -> dict[str, str]:
        return self.start().result().errors

    def warm_up(self, names=PAIR) -> Future:
        """Load, then build and warm these variants' fast paths on the inference thread; returns at once."""
        return self.submit(lambda: [self.loaded[n].model for n in names if n in self.loaded])

    def submit(self, fn, *args) -> Future:
        """fn(*args) on the inference thread, after the loading; the caller may work until `.result()`."""
        self.start()
        return self._call(fn, *args)

    def _call(self, fn, *args) -> Future:
        if os.getpid() == self._owner_pid:
            return self._worker.submit(fn, *args)
        done = Future()
        try:
            done.set_result(fn(*args))
        except Exception as err:  # raised at .result(), as from the thread
            done.set_exception(err)
        return done

    def run(self, fn, *args):
        """fn(*args) on the inference thread; its result, or its exception, here."""
        return self.submit(fn, *args).result()

    def present(self, names) -> list[str]:
        """Those of `names` whose checkpoint files are there: what the page offers before anything is
        read (a file that turns out broken is named when it is asked for, by `unavailable`)."""
        return [n for n in names if n in VARIANTS and all(
            paths(self.checkpoint_dir, n)[kind].exists() for kind in ("weights", "meta"))]

    def unavailable(self, names) -> dict:
        """{name: why} for each of `names` that cannot run: not a variant, or its checkpoint missing."""
        known = ", ".join(self.loaded) or "none"
        return {n: self.errors.get(n) or f"{reprlib.repr(n)} is not a shipped variant; available: {known}"
                for n in names if n not in self.loaded}

    def segment(self, photo: Image.Image, names=PAIR) -> dict:
        """The named loaded variants on one photo, one after another on the inference thread."""
        from seg.serve.inference import segment_photo

        return self.run(segment_photo, photo, {n: self.loaded[n] for n in names})
