"""A real browser: Playwright driving Debian's Chromium against `python app.py`."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from chromium import CHROMIUM, FLAGS, NO_CAMERA, need_chromium
from conftest import ROOT

from seg.model.variants import PAIR, VARIANTS, extras
from seg.reports import learning_curve
from tools.launch import running_app

pytestmark = pytest.mark.browser

sync_api = pytest.importorskip("playwright.sync_api")
SHOTS = Path(os.environ.get("SEG_SCREENSHOTS", ROOT / "tests" / "artifacts"))


@pytest.fixture(scope="module")
def app(export_dir):
    """(url, process) of one `python app.py` for the module."""
    need_chromium()
    with running_app(SEG_EXPORT_DIR=export_dir) as (url, proc, _):
        yield url, proc


@pytest.fixture(scope="module")
def page(app):
    url, _ = app
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, permissions=["camera"])
        page.set_default_timeout(60_000)
        page.goto(url)
        page.get_by_role("button", name="Segment with both models").wait_for()
        yield page
        browser.close()


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_upload_shows_both_overlays(page):
    photo = ROOT / "seg" / "assets" / "chelsea.png"  # CC0: the one photo the README may show
    page.locator("input[type=file]").first.set_input_files(str(photo))
    for name in ("segnet_regular", "segnet_dsc"):
        page.locator(f"img[src*='{name}-overlay']").first.wait_for(state="visible")
    page.get_by_text("Agreement of the two masks").wait_for()
    assert page.get_by_text("inference (this photo)").is_visible()
    page.get_by_text("Where the masks disagree").wait_for()  # the chained compare view
    page.locator("img[src*='disagreement']").wait_for(state="visible")
    slider = page.get_by_test_id("imageslider-image")
    assert sorted(slider.nth(i).get_attribute("src").rsplit("/", 1)[1] for i in range(slider.count())) == [
        "segnet_dsc-overlay.jpg", "segnet_regular-overlay.jpg"]
    shot(page, "segment")


def test_a_mixed_segnet_is_added_as_a_further_column(page):
    if not (ROOT / "checkpoints" / f"{extras()[0]}.safetensors").exists():
        pytest.skip(f"no {extras()[0]} checkpoint shipped: python train.py --model {extras()[0]} --test")
    page.get_by_label("Deep-DSC SegNet: DSC in the deep blocks").check()
    page.locator("img[src*='segnet_dsc_deep-overlay']").first.wait_for(state="visible")
    page.get_by_text("Regular SegNet vs Deep-DSC SegNet").wait_for()  # the agreement of every pair shown
    assert page.locator("img[src*='segnet_dsc-overlay']").first.is_visible()  # the pair stays
    shot(page, "segment-mix")
    page.get_by_label("Deep-DSC SegNet: DSC in the deep blocks").uncheck()
    page.locator("img[src*='segnet_dsc_deep-overlay']").first.wait_for(state="hidden")


def test_the_sample_cat_example_segments(page):
    page.reload()
    page.get_by_role("button", name="Segment with both models").wait_for()
    page.locator(".gallery button, button.gallery-item, [data-testid='examples'] button").first.click()
    for name in ("segnet_regular", "segnet_dsc"):
        page.locator(f"img[src*='{name}-overlay']").first.wait_for(state="visible")


def test_moving_a_cost_slider_redraws_the_chart(page):
    page.get_by_role("tab", name="Cost calculator").click()
    plot = page.locator(".js-plotly-plot").first
    plot.wait_for()
    before = plot.inner_html()
    layers = page.get_by_label("number input for Layers L")
    layers.fill("2")
    layers.press("Enter")
    page.wait_for_function(
        "(before) => document.querySelector('.js-plotly-plot').innerHTML !== before", arg=before)
    assert plot.locator(".point").count() == 4  # two layers, two kinds
    shot(page, "cost")


def test_the_calculator_analyses_any_torchvision_model(page):
    page.get_by_role("tab", name="Cost calculator").click()
    page.get_by_label("Architecture (torchvision)").click()  # the full list arrives on focus
    page.get_by_role("option", name="vgg16", exact=True).wait_for()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Analyse").click()  # resnet50 at 224, the defaults
    page.get_by_text("resnet50 at 224×224, your choice").wait_for()
    page.get_by_label("layer1").uncheck()
    page.get_by_text("(14 convolutions)").wait_for()  # layer1's three 3×3 convs stay regular
    shot(page, "cost-any-model")


def test_the_results_chart_has_a_point_per_variant_and_switches_its_axis(page):
    page.get_by_role("tab", name="Results").click()
    plot = page.locator("#frontier-plot .js-plotly-plot")
    plot.wait_for()
    shipped = sum((ROOT / "checkpoints" / f"{n}.safetensors").exists() for n in VARIANTS)
    assert plot.locator(".scatterlayer .trace .point").count() == shipped  # a marker per variant
    assert "parameters" in plot.locator(".xtitle").text_content()
    page.get_by_label("mult-adds at 128×128").check()
    page.wait_for_function("() => document.querySelector('#frontier-plot .xtitle').textContent.includes('mult-adds')")
    shot(page, "results")


def test_the_live_tab_races_both_models_on_the_camera(page):
    page.get_by_role("tab", name="Live").click()
    page.get_by_role("button", name="Click to Access Webcam").click()
    page.get_by_role("button", name="capture photo").click()  # "Record": starts the stream
    for name in PAIR:
        page.locator(f"#live-{name} img").wait_for(state="visible")
    # Both models' frames/s readouts (the bold cells) become non-zero as frames arrive.
    page.wait_for_function("""() => {
        const rates = [...document.querySelectorAll('#live-readout strong')].map(e => parseFloat(e.textContent));
        return rates.length === 2 && rates.every(r => r > 0);
    }""")
    first = page.locator("#live-segnet_dsc img").get_attribute("src")
    page.wait_for_function("(src) => document.querySelector('#live-segnet_dsc img').src !== src", arg=first)
    shot(page, "live")
    page.reload()  # leaving ends the stream and its work


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its threads so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_share(pid: int, seconds: float) -> float:
    """CPU seconds the process used per wall second over the next `seconds`."""
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds


def test_closing_the_page_stops_the_live_work(app, page):
    """The server's work for a camera stream ends with the page: a behaviour, measured as the
    app's CPU use with the stream running against after the page is gone (no timing threshold:
    the two models on every frame against nothing)."""
    url, proc = app
    live = page.context.browser.new_page(permissions=["camera"])
    try:
        live.goto(url)
        live.get_by_role("tab", name="Live").click()
        live.get_by_role("button", name="Click to Access Webcam").click()
        live.get_by_role("button", name="capture photo").click()
        live.wait_for_function("""() => [...document.querySelectorAll('#live-readout strong')]
            .map(e => parseFloat(e.textContent)).some(r => r > 0)""")
        streaming = cpu_share(proc.pid, 2)
    finally:
        live.close()
    time.sleep(2)  # a frame already in flight may finish
    after = cpu_share(proc.pid, 2)
    assert streaming > 0.2, f"the stream kept the server only {streaming:.0%} busy: was it running?"
    assert after < streaming / 4, f"after the page closed the server still used {after:.0%} CPU ({streaming:.0%} streaming)"


def test_without_a_camera_the_live_tab_says_so(page):
    """A browser with no camera at all (no fake device): a line in the tab, no error."""
    browser = page.context.browser.browser_type.launch(executable_path=CHROMIUM,
                                                       args=NO_CAMERA)
    try:
        other = browser.new_page()
        other.goto(page.url)
        other.get_by_role("tab", name="Live").click()
        other.get_by_text("No camera found on this device. The clip race below needs no camera.").wait_for()
    finally:
        browser.close()


def test_training_and_about_tabs_render(page):
    page.get_by_role("tab", name="Training").click()
    page.get_by_text("Test metrics").first.wait_for()
    page.get_by_text("The sample photo (CC0)").first.wait_for()  # the replay has a real picture
    shot(page, "training")
    # The learning curve (results/learning_curve.json): runs, line and the article's figure, per model.
    plot = page.locator("#learning-curve-plot .js-plotly-plot")
    plot.wait_for()
    assert plot.locator(".scatterlayer .trace").count() == 3 * len(learning_curve.load()["fits"])
    page.get_by_text("per doubling of the training images").first.wait_for()
    page.get_by_role("tab", name="About").click()
    page.get_by_text("The idea").first.wait_for()
    shot(page, "about")


def test_the_on_your_device_tab_frames_the_page(page):
    """The tab holds the on-device page (tests/test_ondevice.py drives the page itself)."""
    page.get_by_role("tab", name="On your device").click()
    page.get_by_text("stays on your device").first.wait_for()
    frame = page.frame_locator("iframe[title='Both models on your device']")
    frame.get_by_text("Choose a photo or start the camera, then press Run.").wait_for()
    frame.locator("#photo").set_input_files(str(ROOT / "seg" / "assets" / "chelsea.png"))
    frame.get_by_role("button", name="Run both models on this device").click()
    frame.get_by_text("Done: both masks were computed on this device").wait_for(timeout=300_000)
    shot(page, "ondevice")


def test_the_deploy_tab_builds_a_file_to_download(page):
    page.get_by_role("tab", name="Deploy").click()
    page.get_by_text("Phones and browsers are why DSC exists").wait_for()
    assert page.get_by_role("button", name="ExecuTorch .pte int8").count() == len(VARIANTS)  # one per model
    page.get_by_role("button", name="ONNX fp32").nth(1).click()  # the DSC row
    page.get_by_text("Argmax agrees with PyTorch").wait_for(timeout=300_000)
    page.locator("a[href*='segnet_dsc.onnx']").first.wait_for()  # the download link
    shot(page, "deploy")
