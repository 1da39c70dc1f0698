"""The real app: `python app.py` on loopback, driven by gradio_client and by Chromium."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import PHOTOS, need
from PIL import Image

from tools.launch import local_client, running_app

pytestmark = pytest.mark.slow

gradio_client = pytest.importorskip("gradio_client")


@pytest.fixture(scope="module")
def live_app():
    with running_app() as (url, proc, startup_s):
        yield url


@pytest.fixture(scope="module")
def client(live_app):
    return local_client(live_app)


def test_only_the_named_endpoints_are_public(client):
    assert set(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == {
        "/segment", "/cost", "/segment_variants", "/race_video"}


def test_segment_a_real_photo_returns_two_masks_of_its_size(client):
    photo = need(PHOTOS / "cat1.jpg")
    size = Image.open(photo).size
    overlay_reg, overlay_dsc, mask_reg, mask_dsc, stats, summary = client.predict(
        gradio_client.handle_file(str(photo)), 0.5, api_name="/segment")
    for mask in (mask_reg, mask_dsc):
        img = Image.open(mask)
        assert img.size == size and set(np.unique(np.asarray(img))) <= {0, 1, 2}
    assert Image.open(overlay_reg).size == Image.open(overlay_dsc).size == size
    assert summary["photo_size"] == list(size)
    assert summary["models"]["segnet_regular"]["params"] == 15_274_889
    assert summary["models"]["segnet_dsc"]["params"] == 1_749_668
    # A trained model finds a cat in a cat photo.
    assert (np.asarray(Image.open(mask_reg)) == 0).mean() > 0.05
    # What /segment answered before the mixed variants existed: the pair, the same keys.
    assert set(summary) == {"photo_size", "models", "agreement", "server_ms", "stages_ms"}
    assert list(summary["models"]) == ["segnet_regular", "segnet_dsc"] and "regular / DSC" in stats


def test_segment_variants_answers_the_shipped_mixes_and_names_the_rest(client):
    photo = need(PHOTOS / "cat1.jpg")
    overlays, masks, summary = client.predict(gradio_client.handle_file(str(photo)),
                                              ["segnet_regular", "segnet_dsc_deep", "segnet_huge"], 0.5,
                                              api_name="/segment_variants")
    assert list(summary["models"]) == ["segnet_regular", "segnet_dsc_deep"] and len(masks) == 2
    assert "segnet_huge" in summary["errors"] and "available" in summary["errors"]["segnet_huge"]
    assert Image.open(masks[1]).size == Image.open(photo).size


def test_cost_endpoint_returns_the_seed_figure_4(client):
    result = client.predict(128, 3, 64, 4, [], api_name="/cost")
    table = result[3]["data"]
    assert [row[3] for row in table[:4]] == ["73,728", "294,912", "1,179,648", "4,718,592"]
    assert [row[4].split(" ")[0] for row in table[:4]] == ["8,768", "33,920", "133,376", "528,896"]


def test_no_image_is_a_clear_error(client):
    with pytest.raises(Exception, match="upload a photo"):
        client.predict(None, 0.5, api_name="/segment")


@pytest.mark.parametrize("variants, message", [
    ([1, 2], "must be a list of names"), ({"model": 1}, "must be a list of names"),
    ([["segnet_dsc"]], "must be a list of names"), (["x" * 100_000], "is not a shipped variant; available"),
    ([f"v{i}" for i in range(1000)], "1,000 different names; at most 32"),
])
def test_any_json_to_segment_variants_is_a_message_naming_the_problem(client, variants, message):
    photo = gradio_client.handle_file(str(need(PHOTOS / "cat1.jpg")))
    with pytest.raises(Exception, match=message) as caught:
        client.predict(photo, variants, 0.5, api_name="/segment_variants")
    assert len(str(caught.value)) < 600  # a 100 kB name is not echoed back whole


@pytest.mark.parametrize("args, message", [
    ((128, "x", 64, 4, []), "kernel must be a whole number; got 'x'"),
    ((None, 3, 64, 4, []), "size must be a whole number; got None"),
    ((128, 4, 64, 4, []), "kernel must be a positive odd integer"),
    ((128, 3, 64, 4, "enc1"), "dsc_blocks must be a list of block names"),
    ((128, 3, 64, 4, ["enc1", 5]), "dsc_blocks must be a list of block names"),
    ((128, 3, 64, 1000, []), "layers must be from 1 to 6; got 1000"),
    ((128.5, 3, 64, 4, []), "size must be a whole number; got 128.5"),
])
def test_any_json_to_cost_is_a_message_naming_the_problem(client, args, message):
    with pytest.raises(Exception, match=message):
        client.predict(*args, api_name="/cost")


def test_after_every_bad_request_a_normal_photo_is_still_served(client):
    *_, summary = client.predict(gradio_client.handle_file(str(need(PHOTOS / "cat1.jpg"))), 0.5, api_name="/segment")
    assert list(summary["models"]) == ["segnet_regular", "segnet_dsc"]
