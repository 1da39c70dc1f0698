"""The export folder as a bounded cache: files built on request stay until the folder outgrows
its bound, then the least recently used go (file and card together), and what a killed build
left behind is swept away.

    SEG_EXPORT_MAX_MB=600    # the bound (default); every variant in every format and precision fits
"""

from __future__ import annotations

import os
from pathlib import Path

from seg.files import dead_temp_files

MAX_BYTES = int(os.environ.get("SEG_EXPORT_MAX_MB", "600")) * 1_000_000
EXPORT_SUFFIXES = (".onnx", ".pte")


def used(file: Path) -> None:
    """A cache hit counts as use: the least recently used file goes first."""
    try:
        os.utime(file)
    except OSError:
        pass  # gone meanwhile: the next request builds it again


def card_of(file: Path) -> Path:
    return file.with_name(f"{file.name}.json")


def sweep(folder, keep: Path | None = None, max_bytes: int = MAX_BYTES) -> list[Path]:
    """Remove dead builds' temp files, then the least recently used exports until the folder's
    exports take at most max_bytes; never `keep` (the file just asked for). Returns what went."""
    folder, removed = Path(folder), []
    for tmp in dead_temp_files(folder):
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    exports = []
    for file in folder.iterdir():
        if file.suffix in EXPORT_SUFFIXES and file.is_file():
            card = card_of(file)
            try:
                stat, card_bytes = file.stat(), card.stat().st_size if card.exists() else 0
                exports.append((stat.st_mtime, file, stat.st_size + card_bytes))
            except FileNotFoundError:
                continue  # removed by another sweep meanwhile
    total = sum(size for _, _, size in exports)
    for _, file, size in sorted(exports, key=lambda e: e[0]):
        if total <= max_bytes:
            break
        if keep is not None and file == Path(keep):
            continue
        for path in (card_of(file), file):  # the card first: a file without a card is never served
            path.unlink(missing_ok=True)
            removed.append(path)
        total -= size
    return removed
