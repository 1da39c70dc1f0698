"""The "On your device" page's preprocessing (seg/assets/ondevice/preprocess.mjs), run by Node,
against the server's own functions: the page feeds its models the bytes the server feeds its."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import PHOTOS, ROOT

from seg.data.decode import image_to_tensor, resize_image, to_input
from seg.serve.overlay import upsample_logits
from seg.serve.photos import load_photo

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed: the page's module runs in it here")
MODULE = ROOT / "seg" / "assets" / "ondevice" / "preprocess.mjs"
DRIVER = """
import fs from "fs";
import * as page from "%s";
const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const read = (name, Type) => new Type(fs.readFileSync(name).buffer.slice(0));
let out;
if (job.op === "resize") {
  const rgb = page.resizeRGB(read(job.pixels, Uint8Array), job.width, job.height, job.size, 3);
  out = Buffer.from(page.toInput(rgb, job.size).buffer);
} else {
  out = Buffer.from(page.upsampleArgmax(read(job.logits, Float32Array), 3, job.size, job.size, job.width, job.height));
}
fs.writeFileSync(job.out, out);
"""


def run_page(tmp_path: Path, op: str, **job) -> bytes:
    driver = tmp_path / "driver.mjs"
    driver.write_text(DRIVER % MODULE.as_uri())
    spec = tmp_path / "job.json"
    spec.write_text(json.dumps({"op": op, "out": str(tmp_path / "out.bin"), **job}))
    subprocess.run([NODE, str(driver), str(spec)], check=True, capture_output=True, timeout=60)
    return (tmp_path / "out.bin").read_bytes()


def page_input(tmp_path: Path, rgb: np.ndarray, size: int = 128) -> torch.Tensor:
    (tmp_path / "pixels.bin").write_bytes(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())
    out = run_page(tmp_path, "resize", pixels=str(tmp_path / "pixels.bin"), width=rgb.shape[1],
                   height=rgb.shape[0], size=size)
    return torch.from_numpy(np.frombuffer(out, dtype=np.float32).copy()).reshape(1, 3, size, size)


def server_input(rgb: np.ndarray, size: int = 128) -> torch.Tensor:
    image = torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1).contiguous()
    return resize_image(image, size).float().div_(255).unsqueeze(0)


# Downscales by whole and odd factors, one axis only, upscales, thin strips, and no resize at all.
@pytest.mark.parametrize("height, width", [(400, 500), (1279, 1280), (300, 451), (128, 128), (128, 640),
                                           (60, 200), (17, 3000), (96, 96)])
def test_the_page_resizes_bit_for_bit_as_the_server(tmp_path, height, width):
    rgb = np.random.default_rng(height * width).integers(0, 256, (height, width, 3), dtype=np.uint8)
    assert torch.equal(page_input(tmp_path, rgb), server_input(rgb))


def test_the_page_gives_the_server_model_input_for_real_photos(tmp_path):
    photos = sorted(PHOTOS.glob("*")) if PHOTOS.is_dir() else []
    photos = photos or [ROOT / "seg" / "assets" / "chelsea.png"]  # the shared photos are absent: the sample
    for path in photos:
        photo = load_photo(path)
        assert torch.equal(page_input(tmp_path, np.asarray(photo)), to_input(photo, 128)), path.name
        assert torch.equal(server_input(np.asarray(photo)), resize_image(image_to_tensor(photo), 128).float()
                           .div_(255).unsqueeze(0))


@pytest.mark.parametrize("width, height", [(451, 300), (128, 128), (64, 200)])
def test_the_page_draws_the_mask_at_display_size_as_the_server(tmp_path, width, height):
    logits = np.random.default_rng(width).normal(size=(3, 128, 128)).astype(np.float32)
    (tmp_path / "logits.bin").write_bytes(logits.tobytes())
    out = run_page(tmp_path, "upsample", logits=str(tmp_path / "logits.bin"), size=128, width=width, height=height)
    page = np.frombuffer(out, dtype=np.uint8).reshape(height, width)
    server = upsample_logits(logits, (width, height))
    assert (page == server).mean() >= 0.9999  # float32 (numpy) vs float64 (JS) sums: a tie may fall either way
