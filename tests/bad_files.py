"""Every kind of upload a public demo receives, written to a folder by the tests."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def png_bomb(path: Path, side: int = 30000) -> Path:
    """A valid 1-bit PNG of side×side pixels that compresses to about a hundred KB."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    row = b"\x00" * (1 + (side + 7) // 8)
    compressor, body = zlib.compressobj(9), []
    for _ in range(side):
        body.append(compressor.compress(row))
    body.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(body)) + chunk(b"IEND", b""))
    return path


def photo_like(width, height, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // max(width, 1), y * 255 // max(height, 1), np.full_like(x, 128)], -1)
    return Image.fromarray((base + rng.integers(0, 30, base.shape)).clip(0, 255).astype(np.uint8))


def write_bad_uploads(folder: Path) -> dict:
    """{name: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}

    def path(name):
        files[name.split(".")[0]] = folder / name
        return folder / name

    path("not_image.png").write_text("name,breed\nchelsea,tabby\n")
    path("empty.jpg").write_bytes(b"")
    photo_like(400, 300).save(path("whole.jpg"), quality=90)
    path("truncated.jpg").write_bytes((folder / "whole.jpg").read_bytes()[:3000])
    photo_like(1, 1).save(path("one_pixel.png"))
    png_bomb(path("bomb.png"))
    photo_like(160, 120).convert("CMYK").save(path("cmyk.jpg"))
    gray = (np.linspace(0, 65535, 150 * 100).reshape(100, 150)).astype(np.uint16)
    Image.fromarray(gray).save(path("gray16.png"))
    rgba = np.zeros((90, 120, 4), np.uint8)
    rgba[20:70, 30:90] = (200, 30, 30, 255)  # an opaque red square on a fully transparent field
    Image.fromarray(rgba, "RGBA").save(path("rgba.png"))
    photo_like(120, 80).quantize(16).save(path("palette.gif"))
    frames = [photo_like(100, 70, seed=i).quantize(16) for i in range(3)]
    frames[0].save(path("animated.gif"), save_all=True, append_images=frames[1:], duration=100, loop=0)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    photo_like(200, 100).save(path("exif_rotated.jpg"), exif=exif)
    photo_like(4000, 300).save(path("panorama.jpg"), quality=85)
    noise = np.random.default_rng(1).integers(0, 255, (700, 700, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path("over_limit.png"))  # ~1.5 MB of incompressible pixels
    return files


# name: (photo size the masks must have) or an error message fragment
EXPECTED = {
    "not_image": "not an image the app can read",
    "empty": "The file is empty",
    "truncated": "damaged or truncated",
    "one_pixel": (1, 1),
    "bomb": "decompression bomb",
    "cmyk": (160, 120),
    "gray16": (150, 100),
    "rgba": (120, 90),
    "palette": (120, 80),
    "animated": (100, 70),
    "exif_rotated": (100, 200),
    "panorama": (4000, 300),
}
