"""What the Oxford-IIIT Pet labels mean, where the data lives, and how a pair is decoded.

Torchvision-free on purpose: the app imports these at start-up, and `import torchvision`
(which pulls in torch._dynamo) would add seconds to it; seg.data, which reads whole splits
through torchvision's dataset class, is loaded only where a split is read. The resizes here
are the calls torchvision's v2.Resize makes, bit for bit (tests/test_pets.py checks it), so
the app's input, the replay's pictures and the training cache are resized alike.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

CLASS_NAMES = ("pet", "background", "border")  # trimap 1/2/3 minus one
IGNORE_INDEX = 255  # mask value of pixels a transform invented (rotation corners): no loss there
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


class DataNotFoundError(RuntimeError):
    pass


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


def image_to_tensor(photo: Image.Image) -> torch.Tensor:
    """uint8 3xHxW of an RGB PIL image (torchvision's pil_to_tensor)."""
    return torch.from_numpy(np.array(photo, dtype=np.uint8)).permute(2, 0, 1).contiguous()


def resize_image(image: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 3xHxW to 3xSxS, bilinear and antialiased, still uint8 (torchvision's v2.Resize)."""
    return F.interpolate(image[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]


def resize_mask(mask: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 HxW class mask to SxS by nearest neighbour, so no new classes appear (v2.Resize on a Mask)."""
    return F.interpolate(mask[None, None], size=(size, size), mode="nearest")[0, 0]


def decode_files(image_path, trimap_path, size: int):
    """One (uint8 image 3xSxS, uint8 class mask SxS) pair, straight from the files.

    `.convert("RGB")` is what makes the dataset's GIF and RGBA PNG named .jpg load.
    """
    with Image.open(image_path) as img, Image.open(trimap_path) as tri:
        image = image_to_tensor(img.convert("RGB"))
        mask = np.array(tri, dtype=np.uint8)
    mask = torch.from_numpy(mask if mask.ndim == 2 else mask[..., 0].copy())  # first band, as pil_to_tensor(...)[0]
    return resize_image(image, size), resize_mask(mask, size) - 1
