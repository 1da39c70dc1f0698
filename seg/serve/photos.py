"""A photo file in, an upright RGB image out; a file that is not one gets a message a person can read."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_SIDE = 4096  # larger photos are downscaled before any other work
MAX_PIXELS = 64_000_000  # refuse to decode beyond this: a decompression bomb, not a photo


class PhotoError(ValueError):
    """A message for the person who uploaded the file."""


def load_photo(path) -> Image.Image:
    """Any readable image file as upright RGB, transparency flattened onto white, at most MAX_SIDE."""
    if path is None:
        raise PhotoError("Please upload a photo of a cat or dog first.")
    path = Path(path)
    if not path.exists():  # the app's cache deletes uploads after SEG_CACHE_TTL seconds
        raise PhotoError("That upload has expired: please upload the photo again.")
    if not path.is_file() or path.stat().st_size == 0:
        raise PhotoError("The file is empty: please upload a photo (JPEG, PNG, WebP, GIF, …).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                check_pixels(img.width, img.height)
                img.seek(0)  # animated GIF/WebP: the first frame
                img.draft(None, (MAX_SIDE, MAX_SIDE))  # JPEG: decode big photos at reduced scale
                img.load()
                photo = to_rgb(ImageOps.exif_transpose(img))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError(too_many_pixels("more pixels than any photo")) from None
    except UnidentifiedImageError:
        raise PhotoError("This file is not an image the app can read. "
                         "Please upload a JPEG, PNG, WebP or GIF.") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise PhotoError("The image file is damaged or truncated and cannot be decoded. "
                         "Please upload another.") from None
    if max(photo.size) > MAX_SIDE:
        photo.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return photo


def check_pixels(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise PhotoError(too_many_pixels(f"{width}×{height} pixels"))


def too_many_pixels(what: str) -> str:
    return (f"The image has {what} (the limit is {MAX_PIXELS // 1_000_000} megapixels), "
            "perhaps a decompression bomb. Please upload a smaller image.")


def to_rgb(img: Image.Image) -> Image.Image:
    """RGB from any mode: palette, CMYK, 16-bit grey, alpha composited on white."""
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if img.mode.startswith("I;16") or array.max() > 255 else 255.0
        img = Image.fromarray((array / peak * 255).round().clip(0, 255).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")
