"""What the Oxford-IIIT Pet labels mean and where the data lives.

Torch-free on purpose: the app's page is built and served from these before torch is imported
(decoding a pair and making the model's input live in seg.data.decode).
"""

from __future__ import annotations

import os
from pathlib import Path

from seg.files import REPO

CLASS_NAMES = ("pet", "background", "border")  # trimap 1/2/3 minus one
IGNORE_INDEX = 255  # mask value of pixels a transform invented (rotation corners): no loss there
SHARED_DATA = REPO.parent / "shared" / "data-official"  # the official split
TRIMAP_VALUES = frozenset({1, 2, 3})
# Three breeds hold 600 of the 718 real pairs here (../shared/DATA.md): figures are reported
# for them and for the rest apart, so the other 30 breeds are not lost in the average.
DOMINANT_BREEDS = ("Abyssinian", "Bengal", "american_bulldog")


class DataNotFoundError(RuntimeError):
    pass


class BadTrimapError(ValueError):
    """A trimap that is not the dataset's kind: values outside {1, 2, 3} or another size than its photo."""


def breed_of(image_id: str) -> str:
    """The breed in an Oxford-IIIT Pet file name: everything before the last underscore."""
    return image_id.rsplit("_", 1)[0]


def species_of(image_id: str) -> str:
    """The dataset names cat breeds with a capital letter and dog breeds in lower case."""
    return "cat" if breed_of(image_id)[:1].isupper() else "dog"


def default_data_root() -> Path:
    """$SEG_DATA_ROOT, else the shared subset beside the checkout, else ./data."""
    if os.environ.get("SEG_DATA_ROOT"):
        return Path(os.environ["SEG_DATA_ROOT"])
    return SHARED_DATA if SHARED_DATA.is_dir() else Path("data")


def normalise_root(root) -> Path:
    """torchvision wants the folder above `oxford-iiit-pet`; accept that folder itself too."""
    root = Path(root)
    if root.name == "oxford-iiit-pet" and (root / "images").is_dir():
        return root.parent
    return root
