"""How a pair is decoded, and the model's input made from any photo the same way.

Torchvision-free on purpose: `import torchvision` (which pulls in torch._dynamo) would add
seconds wherever a photo is resized; seg.data.splits, which reads whole splits through
torchvision's dataset class, is loaded only where a split is read. The resizes here are the
calls torchvision's v2.Resize makes, bit for bit (tests/test_pets.py checks it), so the app's
input, the replay's pictures and the training cache are resized alike.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from seg.data.pets import TRIMAP_VALUES, BadTrimapError


def image_to_tensor(photo: Image.Image) -> torch.Tensor:
    """uint8 3xHxW of an RGB PIL image (torchvision's pil_to_tensor)."""
    return torch.from_numpy(np.array(photo, dtype=np.uint8)).permute(2, 0, 1).contiguous()


def resize_image(image: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 3xHxW to 3xSxS, bilinear and antialiased, still uint8 (torchvision's v2.Resize)."""
    return F.interpolate(image[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]


def resize_mask(mask: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 HxW class mask to SxS by nearest neighbour, so no new classes appear (v2.Resize on a Mask)."""
    return F.interpolate(mask[None, None], size=(size, size), mode="nearest")[0, 0]


def check_trimap(mask: torch.Tensor, photo_hw, trimap_path) -> None:
    """A wrong trimap would train silently on wrong labels (or index past the classes): refuse it."""
    if tuple(mask.shape) != tuple(photo_hw):
        raise BadTrimapError(f"{trimap_path}: the trimap is {mask.shape[1]}x{mask.shape[0]} px, "
                             f"its photo {photo_hw[1]}x{photo_hw[0]}; they must be the same size")
    extra = sorted(set(mask.unique().tolist()) - TRIMAP_VALUES)
    if extra:
        raise BadTrimapError(f"{trimap_path}: trimap values {extra[:5]} outside 1 (pet), 2 (background), 3 (border)")


def read_trimap(trimap_path) -> torch.Tensor:
    """uint8 HxW trimap values (1 pet, 2 background, 3 border) at the file's own size."""
    with Image.open(trimap_path) as tri:
        mask = np.array(tri, dtype=np.uint8)
    return torch.from_numpy(mask if mask.ndim == 2 else mask[..., 0].copy())  # first band, as pil_to_tensor(...)[0]


def decode_files(image_path, trimap_path, size: int):
    """One (uint8 image 3xSxS, uint8 class mask SxS) pair, straight from the files.

    `.convert("RGB")` is what makes the dataset's GIF and RGBA PNG named .jpg load.
    """
    with Image.open(image_path) as img:
        image = image_to_tensor(img.convert("RGB"))
    mask = read_trimap(trimap_path)
    check_trimap(mask, image.shape[1:], trimap_path)
    return resize_image(image, size), resize_mask(mask, size) - 1


def to_input(photo: Image.Image, size: int = 128) -> torch.Tensor:
    """1x3xSxS float in [0, 1], resized as the training data was (tensor resize, antialiased)."""
    return resize_image(image_to_tensor(photo), size).float().div_(255).unsqueeze(0)
