"""The checkpoints this repository ships, on the real Oxford-IIIT Pet files in ../shared."""

from __future__ import annotations


import pytest
import torch
from torch.utils.data import DataLoader

from seg.config import VARIANTS
from seg.checkpoint import CHECKPOINT_DIR, load_checkpoint
from seg.data import PetTensors, decode_files, load_cached_split, open_split
from seg.evaluate import evaluate
from seg.inference import predict_logits
from seg.metrics import metrics_from_confusion
from seg.fastpath import fast_path

pytestmark = pytest.mark.slow

# A little under what `python -m seg.evaluate` measured on the first 96 test images.
FLOORS = {"segnet_regular": 0.68, "segnet_dsc": 0.79}  # measured 0.7053 and 0.8146
SAMPLE = 96


@pytest.fixture(scope="module")
def test_sample(data_root, tmp_path_factory):
    images, masks, _ = load_cached_split(data_root, "test", 128, tmp_path_factory.mktemp("cache"), limit=SAMPLE)
    return images, masks


def shipped(name):
    return load_checkpoint(CHECKPOINT_DIR / f"{name}.safetensors")


@pytest.mark.parametrize("name", VARIANTS)
def test_shipped_checkpoint_scores_above_its_floor(name, test_sample):
    model, meta = shipped(name)
    assert meta["epochs_done"] == meta["recipe"]["epochs"] == 20
    loader = DataLoader(PetTensors(*test_sample), batch_size=16)
    confmat = evaluate(model, loader, torch.device("cpu")).confmat
    assert metrics_from_confusion(confmat)["pixel_accuracy"] >= FLOORS[name]


@pytest.mark.parametrize("name", VARIANTS)
def test_app_fast_path_gives_the_eager_answer(name, test_sample):
    """Equal up to float rounding; see seg.speed.fast_path for why not bit for bit."""
    model, _ = shipped(name)
    fast = fast_path(model)
    flipped = 0
    for x in (test_sample[0][:48].float() / 255).split(1):
        with torch.inference_mode():
            reference = model(x)
            # Before the first MaxPool nothing is discontinuous: the numbers must agree.
            eager_block = model.encoder[0](model.input_bn(x))
            fast_block = fast.encoder[0](fast.input_bn(x.contiguous(memory_format=torch.channels_last)))
        assert (eager_block - fast_block).abs().max() < 1e-4
        ours = predict_logits(fast, x)
        assert ours.shape == reference.shape and torch.isfinite(ours).all()
        agreement = (reference.argmax(1) == ours.argmax(1)).float().mean().item()
        assert agreement >= 0.999  # at most 16 of 16,384 pixels flip through a MaxPool tie
        flipped += (reference.argmax(1) != ours.argmax(1)).sum().item()
    assert flipped <= 0.0001 * 48 * 128 * 128


@pytest.mark.parametrize("image_id, classes", [
    ("Abyssinian_34", {1}),  # a GIF named .jpg, its trimap all background
    ("Abyssinian_5", {0, 1, 2}),  # an RGBA PNG named .jpg
])
def test_quirky_real_files_load(data_root, image_id, classes):
    base = data_root / "oxford-iiit-pet"
    image, mask = decode_files(base / "images" / f"{image_id}.jpg", base / "annotations" / "trimaps" / f"{image_id}.png", 64)
    assert image.shape == (3, 64, 64) and image.dtype == torch.uint8
    assert set(mask.unique().tolist()) == classes


def test_real_splits_have_the_documented_sizes(data_root):
    assert len(open_split(data_root, "trainval")) == 355
    assert len(open_split(data_root, "test")) == 340
