"""The "On your device" page in real headless Chromium: both SegNets run in the page with the
vendored onnxruntime-web, give the server's masks, and nothing leaves the device."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from chromium import CHROMIUM, FLAGS, NO_CAMERA, NO_PROMPT_ANSWER, need_chromium
from conftest import PHOTOS, ROOT

from seg.model.variants import PAIR
from tools.bench_browser import DONE as DONE_OR_ERROR
from tools.launch import running_app

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
SAMPLE = ROOT / "seg" / "assets" / "chelsea.png"
DONE = "Done: both masks were computed on this device"
# One photo of each kind the browser decodes on its own path (its JPEG and PNG decoders, not PIL's):
# a small JPEG, a 1280x1280 one, one without EXIF, the PNG. ../shared/photos' other three are more
# 1280-pixel JPEGs; the resizing itself is checked on many shapes in tests/test_page_preprocess.py.
PAGE_PHOTOS = ("cat1.jpg", "dog1.jpg", "catdog.jpg", "chelsea.png")


@pytest.fixture(scope="module")
def app(export_dir):
    need_chromium()
    with running_app(SEG_EXPORT_DIR=export_dir) as (url, proc, _):
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def open_page(browser, app, requests=None, warm=1):
    page = browser.new_page(permissions=["camera"])
    page.set_default_timeout(240_000)  # the first request for a model file builds it on the server
    if requests is not None:
        page.on("request", lambda r: requests.append((r.method, r.url)))
    page.goto(f"{app}ondevice/?warm={warm}")  # one timed run after the first: the numbers show, the runs are WASM-slow
    page.wait_for_function("window.onDevice && window.onDevice.state.ort && !document.querySelector('#run').disabled")
    return page


@pytest.fixture(scope="module")
def page(browser, app):
    page = open_page(browser, app)
    yield page
    page.close()


def choose(page, path):
    # The status line is cleared first: the wait below is then for this file's answer, not the last one's.
    page.evaluate("() => { const s = document.querySelector('#status'); s.textContent = ''; s.className = ''; }")
    page.locator("#photo").set_input_files(str(path))
    page.wait_for_function("document.querySelector('#status').textContent.includes('Press Run') || "
                           "document.querySelector('#status').className === 'error'")


def run(page, precision="fp32"):
    page.locator(f"input[name=precision][value={precision}]").check()
    page.get_by_role("button", name="Run both models on this device").click()
    page.wait_for_function(DONE_OR_ERROR)
    return page.locator("#status").text_content()


@pytest.fixture(scope="module")
def server_masks():
    """What /segment computes for a photo, at the models' 128x128: the app's own models."""
    from seg.serve.models import Models
    from seg.serve.photos import load_photo

    models = Models(ROOT / "checkpoints")

    def masks(path) -> dict:
        results = models.segment(load_photo(path), list(PAIR))
        return {name: np.asarray(result["logits"]).argmax(0).ravel() for name, result in results.items()}

    return masks


def test_both_models_run_in_the_page_and_agree_with_the_server(browser, app, server_masks):
    requests = []
    page = open_page(browser, app, requests)
    photos = [PHOTOS / name for name in PAGE_PHOTOS] if PHOTOS.is_dir() else [SAMPLE]
    for path in photos:
        choose(page, path)
        assert run(page).startswith(DONE), path.name
        last = page.evaluate("window.onDevice.last")
        for name, expected in server_masks(path).items():
            agreement = (np.asarray(last[name]["mask"]) == expected).mean()
            assert agreement >= 0.99, f"{path.name}, {name}: the page's mask agrees on {agreement:.2%}"
    for name in PAIR:  # both drawn, both timed, bytes shown
        card = page.locator(f".model[data-model={name}]")
        assert card.locator("canvas").evaluate("c => c.width") > 1
        for stat in ("file", "download", "session", "first", "warm"):
            assert card.locator(f"[data-stat={stat}]").text_content() != "–"
        assert "ms" in card.locator("[data-stat=warm]").text_content()
    assert "the bytes" in page.locator("#ratios").text_content()
    assert "threads: 1" in page.locator("#runtime").text_content()
    origin = app.rstrip("/")
    assert all(url.startswith((origin + "/", "blob:" + origin, "data:")) for _, url in requests), requests
    assert {method for method, _ in requests} == {"GET"}  # nothing is uploaded
    page.close()


def test_each_mask_shows_before_its_timed_runs(browser, app):
    page = open_page(browser, app, warm=1000)  # a thousand timed runs: minutes, were the test to wait
    choose(page, SAMPLE)
    page.get_by_role("button", name="Run both models on this device").click()
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('Timing')")
    first = page.locator(f".model[data-model={PAIR[0]}]")
    assert first.locator("canvas").evaluate("c => c.width") > 1  # drawn (1x1 until then)
    assert "ms" in first.locator("[data-stat=first]").text_content()
    assert first.locator("[data-stat=warm]").text_content() == "–"
    page.close()  # the runs end with the page


def test_fed_the_same_tensor_the_page_answers_as_onnx_runtime_in_python(page, export_dir):
    import onnxruntime as ort

    from seg.data.decode import to_input
    from seg.serve.photos import load_photo

    x = to_input(load_photo(SAMPLE), 128).numpy()
    for name in PAIR:
        for precision in ("fp32", "int8"):
            logits = np.asarray(page.evaluate("([n, p, x]) => window.onDevice.runTensor(n, p, x)",
                                              [name, precision, x.ravel().tolist()]), dtype=np.float32)
            file = Path(export_dir) / f"{name}{'-int8' if precision == 'int8' else ''}.onnx"
            session = ort.InferenceSession(str(file), providers=["CPUExecutionProvider"])
            expected = session.run(None, {"image": x})[0][0]
            agreement = (logits.reshape(expected.shape).argmax(0) == expected.argmax(0)).mean()
            assert agreement >= 0.999, f"{name} {precision}: {agreement:.4%}"


def test_the_int8_dsc_file_is_at_most_2_1_mb_on_the_wire(page):
    choose(page, SAMPLE)
    assert run(page, "int8").startswith(DONE)
    last = page.evaluate("window.onDevice.last")
    assert last["segnet_dsc"]["precision"] == "int8" and last["segnet_dsc"]["wire_bytes"] <= 2.1e6
    assert last["segnet_regular"]["bytes"] > 6 * last["segnet_dsc"]["bytes"]
    assert "int8" in page.locator(".model[data-model=segnet_dsc] [data-stat=file]").text_content()


def bad_files(folder: Path) -> dict:
    from PIL import Image

    (folder / "notes.jpg").write_text("not a photo, whatever its name says")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    (folder / "empty.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="0" height="0"></svg>')
    Image.new("1", (10_000, 10_000)).save(folder / "huge.png")  # 100 megapixels in a few kilobytes
    return {"notes.jpg": "not an image the browser can decode", "broken.png": "not an image the browser can decode",
            "empty.svg": "no pixels", "huge.png": "10000×10000 pixels (the limit is 64 megapixels)"}


def test_a_bad_file_gets_a_message_and_the_next_run_works(page, tmp_path):
    for name, message in bad_files(tmp_path).items():
        choose(page, SAMPLE)  # a good photo first: the bad one must replace it, not run it
        choose(page, tmp_path / name)
        assert message in page.locator("#status").text_content(), name
        assert page.locator("#status").get_attribute("class") == "error"
        assert "Choose a photo first" in run(page)  # the bad file is not run
    choose(page, SAMPLE)
    assert run(page).startswith(DONE)


def test_pressing_run_twice_runs_once_and_switching_precision_restarts(page):
    choose(page, SAMPLE)
    page.locator("input[name=precision][value=fp32]").check()
    button = page.get_by_role("button", name="Run both models on this device")
    button.click()
    page.locator("#run").dispatch_event("click")  # a second press while it runs (the button is disabled)
    page.locator("input[name=precision][value=int8]").check()  # mid-run
    page.wait_for_function(DONE_OR_ERROR)
    assert page.locator("#status").text_content().startswith(DONE + " (int8)")
    assert {v["precision"] for v in page.evaluate("Object.values(window.onDevice.last)")} == {"int8"}
    assert not page.locator("#run").is_disabled()


@pytest.mark.parametrize("fault, message", [("missing", "failed to download"), ("corrupt", "could not be created")])
def test_a_model_file_that_fails_gets_a_message_and_the_next_run_works(browser, app, fault, message):
    page = open_page(browser, app)
    if fault == "missing":
        page.route("**/models/segnet_dsc-fp32.onnx", lambda route: route.fulfill(status=500, body="{}"))
    else:
        page.route("**/models/segnet_dsc-fp32.onnx", lambda route: route.fulfill(status=200, body=b"\x08\x07garbage"))
    choose(page, SAMPLE)
    assert message in run(page)
    assert not page.locator("#run").is_disabled()
    page.unroute("**/models/segnet_dsc-fp32.onnx")
    assert run(page).startswith(DONE)
    page.close()


def test_the_camera_runs_both_models_on_the_same_frames(page):
    page.get_by_role("button", name="Start camera").click()
    page.wait_for_function("""() => [...document.querySelectorAll('[data-stat=fps]')]
        .every(cell => parseFloat(cell.textContent) > 0)""")
    page.get_by_role("button", name="Stop camera").click()
    page.get_by_text("Camera stopped.").wait_for()
    choose(page, SAMPLE)
    assert run(page).startswith(DONE)  # back to photos


@pytest.mark.parametrize("flags, message", [(NO_CAMERA, "No camera was found"), (NO_PROMPT_ANSWER, "denied")])
def test_a_camera_that_is_absent_or_denied_gets_a_message(browser, app, flags, message):
    other = browser.browser_type.launch(executable_path=CHROMIUM, args=flags)
    try:
        page = other.new_page()
        page.goto(f"{app}ondevice/")
        page.wait_for_function("window.onDevice && window.onDevice.state.ort")
        page.get_by_role("button", name="Start camera").click()
        page.wait_for_function("document.querySelector('#status').className === 'error'", timeout=30_000)
        assert message in page.locator("#status").text_content()
        assert page.get_by_role("button", name="Start camera").is_visible()
    finally:
        other.close()


def test_a_runtime_that_fails_to_load_is_named(browser, app):
    page = browser.new_page()
    page.route("**/ort/*/ort.wasm.bundle.min.mjs", lambda route: route.fulfill(status=404, body="gone"))
    page.goto(f"{app}ondevice/")
    page.get_by_text("The runtime (onnxruntime-web 1.31.1) failed to load").wait_for()
    assert page.locator("#run").is_disabled()
    page.close()


def test_without_webassembly_the_page_says_so(browser, app):
    page = browser.new_page()
    page.add_init_script("delete globalThis.WebAssembly")
    page.goto(f"{app}ondevice/")
    page.get_by_text("This browser has no WebAssembly").wait_for()
    assert page.locator("#run").is_disabled()
    page.close()
