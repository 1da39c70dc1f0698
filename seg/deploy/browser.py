"""The "On your device" page's server side: routes under /ondevice/ on the app's own origin.

The page (seg/assets/ondevice/) runs both SegNets in the visitor's browser with the vendored
onnxruntime-web (seg/assets/vendor/, `python -m tools.vendor_ort`). The server only hands out
files: the page, the runtime, a small config (sizes, legend, photo limits) and each model's ONNX
file, built on first request by seg.deploy.export (int8 from the checkpoint's stored calibration
ranges, so no dataset is needed). Nothing is ever uploaded: every route is a GET.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import anyio
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from seg.data.pets import CLASS_NAMES
from seg.deploy.targets import EXPORT_DIR, ExportError, check_target
from seg.files import PACKAGE
from seg.model.checkpoint import CHECKPOINT_DIR
from seg.model.variants import PAIR, VARIANTS
from seg.serve.overlay import COLOURS
from seg.serve.photos import MAX_PIXELS, MAX_SIDE

PREFIX = "/ondevice"
PAGE_DIR = PACKAGE / "assets" / "ondevice"
VENDOR_DIR = PACKAGE / "assets" / "vendor" / "onnxruntime-web"
PAGE_FILES = {"": "index.html"} | {p.name: p.name for p in PAGE_DIR.iterdir() if p.suffix in (".mjs", ".css")}
PRECISIONS = ("fp32", "int8")
INPUT_SIZE = 128
# Timed runs after the first, of which the page shows the median (?warm=N overrides): the regular net's
# run is ~0.75 s in a 2-core desktop's WASM and seconds on a phone, and its numbers wait for them all.
WARM_RUNS = 5

# Builds take a minute and a core: one at a time, on threads of their own, so file transfers
# (the server's two threads, app.py's SERVER_THREADS) keep flowing meanwhile.
_builds = anyio.CapacityLimiter(1)
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}  # the runtime's path names its version


@lru_cache(maxsize=1)
def runtime_manifest() -> dict:
    """The vendored runtime's manifest (tools/vendor_ort.py): its version and files, read once."""
    return json.loads((VENDOR_DIR / "MANIFEST.json").read_text())


def runtime_file_named(suffix: str) -> str:
    return next(name for name in runtime_manifest()["files"] if name.endswith(suffix))


def page_config(models=PAIR) -> dict:
    """What the page needs to know, so the legend, sizes and limits have one home: here."""
    runtime = runtime_manifest()
    return {"input_size": INPUT_SIZE, "classes": list(CLASS_NAMES), "colours": COLOURS.tolist(),
            "max_pixels": MAX_PIXELS, "max_side": MAX_SIDE, "warm_runs": WARM_RUNS, "precisions": list(PRECISIONS),
            "runtime": {"name": runtime["package"], "version": runtime["version"],
                        "path": f"ort/{runtime['version']}/", "bundle": runtime_file_named(".mjs"),
                        "binary": runtime_file_named(".wasm")},
            "models": [{"name": m, "title": VARIANTS[m].title, "colour": VARIANTS[m].colour} for m in models]}


class OnDevice:
    def __init__(self, checkpoint_dir=CHECKPOINT_DIR, out_dir=EXPORT_DIR, models=PAIR):
        self.checkpoint_dir, self.out_dir, self.models = checkpoint_dir, Path(out_dir), tuple(models)

    def routes(self) -> list[Route]:
        return [Route(PREFIX, lambda _: RedirectResponse(f"{PREFIX}/")),
                Route(f"{PREFIX}/config.json", self.config),
                Route(f"{PREFIX}/ort/{{version}}/{{name}}", self.runtime_file),
                Route(f"{PREFIX}/models/{{stem}}.{{kind}}", self.model_file),
                Route(f"{PREFIX}/{{name:path}}", self.page_file)]

    async def config(self, _request) -> Response:
        return JSONResponse(page_config(self.models))

    async def page_file(self, request) -> Response:
        name = PAGE_FILES.get(request.path_params["name"])
        if name is None:
            return JSONResponse({"error": "no such file"}, status_code=404)
        return FileResponse(PAGE_DIR / name, headers={"Cache-Control": "no-cache"})

    async def runtime_file(self, request) -> Response:
        version, name = request.path_params["version"], request.path_params["name"]
        manifest = runtime_manifest()
        if version != manifest["version"] or name not in manifest["files"]:  # only the manifest's files
            return JSONResponse({"error": "no such runtime file"}, status_code=404)
        return FileResponse(VENDOR_DIR / name, headers=IMMUTABLE)

    async def model_file(self, request) -> Response:
        """`NAME-PRECISION.json`: the file's card (building it if needed); `.onnx`: the file."""
        stem, kind = request.path_params["stem"], request.path_params["kind"]
        model, _, precision = stem.rpartition("-")
        if model not in self.models or precision not in PRECISIONS or kind not in ("json", "onnx"):
            return JSONResponse({"error": f"no model file {stem}.{kind}: the page offers "
                                 f"{', '.join(self.models)} in {' or '.join(PRECISIONS)}"}, status_code=404)
        target = check_target(model, "onnx", precision == "int8")
        from seg.deploy.export import ensure_export  # torch: imported by the first build, not at start-up

        try:
            card = await anyio.to_thread.run_sync(ensure_export, target, self.out_dir, self.checkpoint_dir,
                                                  limiter=_builds)
        except ExportError as err:
            return JSONResponse({"error": f"the server could not build {stem}.onnx: {err}"}, status_code=503)
        if kind == "json":
            return JSONResponse(card, headers={"Cache-Control": "no-cache"})
        return FileResponse(self.out_dir / card["file"], media_type="application/octet-stream",
                            headers={"Cache-Control": "no-cache"})  # ETag revalidation: new weights, new file
