"""The on-device page's server side (seg/deploy/browser.py): what it serves, and nothing else."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from seg.data.pets import CLASS_NAMES
from seg.deploy.browser import OnDevice, page_config
from seg.model.variants import PAIR
from seg.serve.overlay import COLOURS
from tools import vendor_ort


@pytest.fixture
def client(tiny_checkpoints, tmp_path):
    return TestClient(Starlette(routes=OnDevice(tiny_checkpoints, tmp_path / "exports").routes()))


def test_the_page_gets_the_legend_sizes_and_limits_of_the_server():
    config = page_config()
    assert config["classes"] == list(CLASS_NAMES) and config["colours"] == COLOURS.tolist()
    assert [m["name"] for m in config["models"]] == list(PAIR) and config["input_size"] == 128
    assert config["runtime"]["version"] == vendor_ort.VERSION


def test_the_page_its_scripts_and_the_runtime_are_served(client):
    assert client.get("/ondevice", follow_redirects=False).headers["location"] == "/ondevice/"
    page = client.get("/ondevice/")
    assert page.status_code == 200 and 'src="ondevice.mjs"' in page.text
    for name in ("ondevice.mjs", "photo.mjs", "preprocess.mjs", "ondevice.css"):
        assert client.get(f"/ondevice/{name}").status_code == 200, name
    runtime = client.get(f"/ondevice/ort/{vendor_ort.VERSION}/ort-wasm-simd-threaded.wasm")
    assert runtime.headers["content-type"] == "application/wasm" and "immutable" in runtime.headers["cache-control"]


@pytest.mark.parametrize("path", ["/ondevice/../app.py", "/ondevice/%2e%2e/app.py", "/ondevice/index.html.bak",
                                  "/ondevice/ort/1.31.1/../../../../app.py",
                                  "/ondevice/ort/0.0.1/ort.wasm.bundle.min.mjs",
                                  "/ondevice/ort/1.31.1/LICENSE.py", "/ondevice/models/..%2Fsegnet_dsc-fp32.onnx",
                                  "/ondevice/models/segnet_dsc_deep-fp32.onnx", "/ondevice/models/segnet_dsc-fp16.onnx",
                                  "/ondevice/models/segnet_dsc-fp32.pte"])
def test_nothing_else_is_served(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.slow  # an export
def test_a_model_file_is_built_on_first_request_and_served(client, tmp_path):
    card = client.get("/ondevice/models/segnet_dsc-fp32.json")
    assert card.status_code == 200 and card.json()["file"] == "segnet_dsc.onnx"
    file = client.get("/ondevice/models/segnet_dsc-fp32.onnx")
    assert file.status_code == 200 and file.content == (tmp_path / "exports" / "segnet_dsc.onnx").read_bytes()
    assert len(file.content) == card.json()["bytes"]


def test_a_build_that_fails_answers_with_a_message(tmp_path):
    broken = TestClient(Starlette(routes=OnDevice(tmp_path / "no-checkpoints", tmp_path / "exports").routes()))
    answer = broken.get("/ondevice/models/segnet_dsc-int8.onnx")
    assert answer.status_code == 503 and "could not build segnet_dsc-int8.onnx" in answer.json()["error"]


def test_only_gets_are_answered(client):
    assert client.post("/ondevice/models/segnet_dsc-fp32.onnx", content=b"x").status_code == 405


def test_the_vendored_runtime_matches_its_manifest_and_a_changed_copy_is_caught(tmp_path, monkeypatch):
    assert vendor_ort.problems() == []
    copy = tmp_path / "vendor"
    copy.mkdir()
    for file in vendor_ort.DEST.iterdir():
        (copy / file.name).write_bytes(file.read_bytes())
    monkeypatch.setattr(vendor_ort, "DEST", copy)
    monkeypatch.setattr(vendor_ort, "MANIFEST", copy / "MANIFEST.json")
    assert vendor_ort.problems() == []
    (copy / "ort.wasm.bundle.min.mjs").write_text("/* changed */")
    assert vendor_ort.problems() == ["ort.wasm.bundle.min.mjs differs from its manifest"]
