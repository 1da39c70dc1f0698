"""The images one training run reads: the main root's trainval minus a validation carve-out,
plus the trainval images of any extra roots (training only), and what the metadata says of them.

Extra roots (`train.py --extra-train ROOT`) are checked before anything is decoded or written:
the folder must exist, be in torchvision's layout, list images, and share no name with the main
root's test list or validation carve-out, so that no image a run is scored on is trained on.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import NamedTuple

import torch

from seg.data.pets import DataNotFoundError
from seg.data.splits import (
    VALIDATION_FRACTION,
    VALIDATION_SEED,
    describe,
    list_digest,
    load_cached_split,
    split_ids,
    training_subset,
    validation_split,
)

SHOWN_OVERLAPS = 5  # names an overlap error lists


class RunData(NamedTuple):
    train: tuple  # (images uint8 Nx3xSxS, masks NxSxS)
    validation: tuple  # (images, masks, ids)
    test: tuple | None  # (images, masks, ids), only with --test
    description: dict  # the metadata's "data" entry


def names_digest(names) -> str:
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def check_extra_root(root: str, forbidden: dict) -> list[str]:
    """The trainval names of an extra root, or DataNotFoundError saying why it cannot train.
    `forbidden`: {"test": names, "validation": names} of the main root."""
    if not Path(root).is_dir():
        raise DataNotFoundError(f"--extra-train {root}: no such folder")
    try:
        ids = split_ids(root, "trainval")
    except (DataNotFoundError, FileNotFoundError):
        raise DataNotFoundError(f"--extra-train {root}: not in torchvision's Oxford-IIIT Pet layout "
                                f"(oxford-iiit-pet/images, annotations/trimaps, annotations/trainval.txt)") from None
    if not ids:
        raise DataNotFoundError(f"--extra-train {root}: its annotations/trainval.txt lists no images")
    for split, names in forbidden.items():
        shared = sorted(set(ids) & set(names))
        if shared:
            raise DataNotFoundError(
                f"--extra-train {root}: {len(shared)} of its images are in the main root's {split} split "
                f"({', '.join(shared[:SHOWN_OVERLAPS])}{', ...' if len(shared) > SHOWN_OVERLAPS else ''}); "
                f"they must never be trained on")
    return ids


def load_run_data(args, size: int) -> RunData:
    """Everything train.py reads; the test split only with --test."""
    ids = split_ids(args.data_root, "trainval")[:args.limit]
    train_idx, val_idx = validation_split(ids)
    if args.train_images is not None:
        train_idx = training_subset(train_idx, args.train_images)
    val_ids = [ids[i] for i in val_idx]
    test_ids = split_ids(args.data_root, "test")
    extras = [(root, check_extra_root(root, {"test": test_ids, "validation": val_ids}))
              for root in args.extra_train or ()]
    # The extra roots decode first: a bad trimap there stops the run before any cache is written.
    extra_data = [load_cached_split(root, "trainval", size, args.cache_dir) for root, _ in extras]
    images, masks, _ = load_cached_split(args.data_root, "trainval", size, args.cache_dir, args.download, args.limit)
    train_x = torch.cat([images[train_idx], *(d[0] for d in extra_data)])
    train_y = torch.cat([masks[train_idx], *(d[1] for d in extra_data)])
    test = None
    if args.test:
        test = load_cached_split(args.data_root, "test", size, args.cache_dir, args.download, args.limit)
    train_names = [ids[i] for i in train_idx] + [name for _, names in extras for name in names]
    description = describe_run(args, ids, len(train_idx), extras, train_names, val_ids, test_ids, test)
    return RunData((train_x, train_y), (images[val_idx], masks[val_idx], val_ids), test, description)


def describe_run(args, ids, main_train, extras, train_names, val_ids, test_ids, test) -> dict:
    """The "data" entry of the metadata: every root with its path as given, image count and list
    hash; the names trained on, validated on, and the test list's, so that a test can prove no
    test or validation image was trained on."""
    sizes = {"train": len(train_names), "validation": len(val_ids), **({"test": len(test[0])} if test else {})}
    info = describe(args.data_root, sizes)
    info["roots"] = [
        {"path": args.given_data_root, "role": "main", "trainval_images": len(ids),
         "trainval_list_sha256": list_digest(args.data_root, "trainval"), "train_images": main_train},
        *({"path": root, "role": "extra-train", "trainval_images": len(names),
           "trainval_list_sha256": list_digest(root, "trainval"), "train_images": len(names)}
          for root, names in extras)]
    info["train_image_ids"] = train_names
    info["validation"] = {"carved_from": "trainval", "stratified_by": "breed", "fraction": VALIDATION_FRACTION,
                          "seed": VALIDATION_SEED, "image_ids": val_ids}
    info["test_list"] = {"images": len(test_ids), "list_sha256": list_digest(args.data_root, "test"),
                         "names_sha256": names_digest(test_ids)}
    return info
