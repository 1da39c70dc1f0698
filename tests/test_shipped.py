"""The checkpoints this repository ships, on the real Oxford-IIIT Pet files in ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from seg.checkpoint import CHECKPOINT_DIR, load_checkpoint, paths
from seg.config import VARIANTS
from seg.data import PetTensors, decode_files, load_cached_split, open_split
from seg.evaluate import evaluate
from seg.fastpath import fast_path
from seg.inference import predict_logits
from seg.metrics import metrics_from_confusion
from seg.recipes import RECIPES, from_metadata

pytestmark = pytest.mark.slow

# Test pixel accuracy on all 340 images, a little under what the shipped runs measured (regular /
# DSC 82.47% / 82.97%, deep-DSC / shallow-DSC 83.54% / 83.63%). The target of issue 9 was 85% / 84%
# for the pair: missed, see the README's results.
FLOORS = {"segnet_regular": 0.82, "segnet_dsc": 0.82, "segnet_dsc_deep": 0.83, "segnet_dsc_shallow": 0.83}
SAMPLE = 96  # images for the fast-path comparison


@pytest.fixture(scope="module")
def test_split(data_root, tmp_path_factory):
    return load_cached_split(data_root, "test", 128, tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def test_sample(test_split):
    return test_split[0][:SAMPLE], test_split[1][:SAMPLE]


def shipped(name):
    return load_checkpoint(paths(CHECKPOINT_DIR, name)["weights"])


@pytest.mark.parametrize("name", VARIANTS)
def test_metadata_claims_equal_a_fresh_evaluation_on_every_test_image(name, test_split):
    model, meta = shipped(name)
    assert from_metadata(meta["recipe"]) == RECIPES["default"], "shipped with the default recipe, whole"
    assert meta["epochs_done"] == meta["recipe"]["epochs"]
    images, masks, _ = test_split
    confmat = evaluate(model, DataLoader(PetTensors(images, masks), batch_size=16), torch.device("cpu")).confmat
    fresh = metrics_from_confusion(confmat)
    assert meta["final"]["split"] == "test" and meta["final"]["images"] == len(images) == 340
    assert fresh["pixel_accuracy"] == meta["final"]["pixel_accuracy"]
    assert fresh["miou"] == meta["final"]["miou"] and fresh["iou"] == meta["final"]["iou"]


@pytest.mark.parametrize("name", VARIANTS)
def test_shipped_checkpoint_reaches_the_floor(name):
    assert shipped(name)[1]["final"]["pixel_accuracy"] >= FLOORS[name]


def test_training_saw_trainval_only(data_root):
    trainval = {Path(p).stem for p in open_split(data_root, "trainval")._images}
    test = {Path(p).stem for p in open_split(data_root, "test")._images}
    for name in VARIANTS:
        meta = shipped(name)[1]
        sizes, validation = meta["data"]["split_sizes"], meta["data"]["validation"]
        assert sizes["train"] + sizes["validation"] == len(trainval) == 355 and sizes["test"] == 340
        assert validation["carved_from"] == "trainval" and set(validation["image_ids"]) <= trainval
        assert not set(validation["image_ids"]) & test
        assert set(meta["snapshots"]["image_ids"]) <= set(validation["image_ids"])


@pytest.mark.parametrize("name", VARIANTS)
def test_app_fast_path_gives_the_eager_answer(name, test_sample):
    """Equal up to float rounding; see seg.fastpath.fast_path for why not bit for bit."""
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
