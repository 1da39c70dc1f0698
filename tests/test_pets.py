"""seg.data: the torchvision-free decode and resizes are torchvision's, bit for bit; the app's page is
built without torch and its models load without torchvision."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import ROOT
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2

from seg.data.decode import decode_files, to_input

SIZES = (128, 64)


def torchvision_pair(image_path, trimap_path, size):
    """The decode the training cache was first built with: torchvision's v2 joint resize."""
    with Image.open(image_path) as img, Image.open(trimap_path) as tri:
        image = tv_tensors.Image(v2.functional.pil_to_tensor(img.convert("RGB")))
        mask = tv_tensors.Mask(v2.functional.pil_to_tensor(tri)[0])
    image, mask = v2.Resize((size, size), antialias=True)(image, mask)
    return image.as_subclass(torch.Tensor), (mask.as_subclass(torch.Tensor) - 1).to(torch.uint8)


def assert_same_as_torchvision(image_path, trimap_path, size):
    ours, theirs = decode_files(image_path, trimap_path, size), torchvision_pair(image_path, trimap_path, size)
    assert ours[0].dtype == theirs[0].dtype == torch.uint8 and ours[1].dtype == theirs[1].dtype
    assert torch.equal(ours[0], theirs[0]) and torch.equal(ours[1], theirs[1])


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("width, height", [(500, 375), (211, 333), (128, 128), (97, 61)])
def test_decode_matches_torchvision_on_synthetic_files(tmp_path, width, height, size):
    rng = np.random.default_rng(width * height)
    photo, trimap = tmp_path / "pet.jpg", tmp_path / "pet.png"
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(photo, quality=90)
    Image.fromarray(rng.integers(1, 4, (height, width), dtype=np.uint8)).save(trimap)
    assert_same_as_torchvision(photo, trimap, size)


def test_decode_matches_torchvision_on_real_files(data_root):
    base = data_root / "oxford-iiit-pet"
    quirky = [base / "images" / f"{name}.jpg" for name in ("Abyssinian_34", "Abyssinian_5")]  # GIF, RGBA PNG
    for path in sorted((base / "images").glob("*.jpg"))[::25] + quirky:
        assert_same_as_torchvision(path, base / "annotations" / "trimaps" / f"{path.stem}.png", 128)


def test_app_input_is_resized_as_torchvision_resizes(photos):
    for path in sorted(photos.glob("*")):
        with Image.open(path) as img:
            rgb = img.convert("RGB")
        expected = v2.functional.resize(v2.functional.pil_to_tensor(rgb), [128, 128], antialias=True)
        assert torch.equal(to_input(rgb), expected.float().div(255).unsqueeze(0))


@pytest.mark.slow  # a fresh interpreter imports the whole app
def test_the_page_is_built_without_torch_and_the_models_load_without_torchvision():
    """The page is served before torch is imported (start to ready); the models' loading and
    warm-up then import torch, never torchvision (seconds more: torch._dynamo)."""
    probe = ("import sys, app\n"
             "heavy = lambda: sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'torchvision'})\n"
             "demo = app.build(); print(heavy()); demo.models.warm_up().result(); print(heavy())")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-2:] == ["[]", "['torch']"]
