"""Oxford-IIIT Pet through torchvision, decoded once into a uint8 cache per split and size."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.datasets import OxfordIIITPet
from torchvision.transforms import v2

from seg.data.decode import decode_files
from seg.data.pets import CLASS_NAMES, IGNORE_INDEX, DataNotFoundError, breed_of, normalise_root
from seg.files import atomic_write

SPLITS = ("trainval", "test")
DEFAULT_CACHE = ".cache"  # decoded uint8 tensors of the dataset live here
CACHE_VERSION = 2  # bump when the cached content changes meaning (2: keyed by the files' bytes)


def open_split(root, split: str, download: bool = False) -> OxfordIIITPet:
    root = normalise_root(root)
    try:
        return OxfordIIITPet(root, split=split, target_types="segmentation", download=download)
    except RuntimeError as err:
        if "not found" not in str(err).lower():
            raise
        raise DataNotFoundError(
            f"no Oxford-IIIT Pet data under {root}: pass --download to fetch it (about 800 MB), "
            f"or --data-root DIR pointing at a folder that holds oxford-iiit-pet/"
        ) from None


def decode_sample(dataset: OxfordIIITPet, index: int, size: int):
    return decode_files(dataset._images[index], dataset._segs[index], size)


def list_path(dataset: OxfordIIITPet, split: str) -> Path:
    return Path(dataset._anns_folder) / f"{split}.txt"


def list_digest(root, split: str) -> str:
    """sha256 of a split's list file: which images, in which order (recorded in the metadata)."""
    return hashlib.sha256(list_path(open_split(root, split), split).read_bytes()).hexdigest()


def split_ids(root, split: str) -> list[str]:
    """The image names a split lists, without decoding a file."""
    return [Path(p).stem for p in open_split(root, split)._images]


def source_fingerprint(dataset: OxfordIIITPet, size: int) -> str:
    """The bytes of every listed file, in list order: a changed list, photo or trimap is never
    served from a stale cache, while a copy or a touch of the same files still hits it."""
    digest = hashlib.sha256(f"v{CACHE_VERSION}-{size}".encode())
    for path in [*dataset._images, *dataset._segs]:
        digest.update(Path(path).name.encode() + b"\0" + hashlib.sha256(Path(path).read_bytes()).digest())
    return digest.hexdigest()[:16]


def load_cached_split(root, split: str, size: int, cache_dir, download=False, limit=None):
    """(images uint8 Nx3xSxS, masks uint8 NxSxS, ids) from the cache, building it if stale."""
    dataset = open_split(root, split, download)
    ids = [Path(p).stem for p in dataset._images]
    cache = Path(cache_dir) / f"oxford-pet-{split}-{size}-{source_fingerprint(dataset, size)}.pt"
    if cache.exists():
        data = torch.load(cache, weights_only=True)
    else:
        pairs = [decode_sample(dataset, i, size) for i in range(len(dataset))]
        data = {"images": torch.stack([p[0] for p in pairs]), "masks": torch.stack([p[1] for p in pairs])}
        # Under a per-process temporary name, then renamed: a killed build never leaves a
        # half-written cache behind, and two writers never share a temporary file.
        atomic_write(cache, lambda tmp: torch.save(data, tmp))
    n = len(ids) if limit is None else min(limit, len(ids))
    return data["images"][:n], data["masks"][:n], ids[:n]


VALIDATION_FRACTION, VALIDATION_SEED = 0.2, 0  # fixed, whatever the training seed or recipe


def train_augment(kind: str = "seed", size: int = 128):
    """Joint image/mask augmentation for training only.

    seed: the article's horizontal flip and colour jitter. strong: also a random resized crop
    (zoom and aspect) and a small rotation, the kinds the seed's U-Net experiment used.
    """
    if kind == "none":
        return None
    jitter = v2.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.05)
    if kind == "seed":
        return v2.Compose([v2.RandomHorizontalFlip(), jitter])
    return v2.Compose([
        v2.RandomResizedCrop(size, scale=(0.5, 1.0), ratio=(0.75, 4 / 3), antialias=True),
        v2.RandomHorizontalFlip(),
        v2.RandomRotation(15, fill={tv_tensors.Image: 0, tv_tensors.Mask: IGNORE_INDEX}),
        jitter,
    ])


def validation_split(ids, fraction: float = VALIDATION_FRACTION, seed: int = VALIDATION_SEED):
    """(train indices, validation indices) of the trainval images named `ids`: a fixed, seeded
    carve-out, stratified by breed, that model selection reads instead of the test split.

    round(len * fraction) images in all (at least one of two or more); each breed gives its
    share rounded down, and the images left over go to the breeds with the largest remainders
    (ties by name), so a breed of 20 gives 4 and one of 2 gives none unless it is needed."""
    by_breed: dict[str, list[int]] = {}
    for index, image_id in enumerate(ids):
        by_breed.setdefault(breed_of(image_id), []).append(index)
    total = max(1, round(len(ids) * fraction)) if len(ids) > 1 else 0
    quota = {b: int(len(v) * fraction) for b, v in by_breed.items()}
    remainders = sorted(by_breed, key=lambda b: (-(len(by_breed[b]) * fraction - quota[b]), b))
    for breed in remainders[:max(0, total - sum(quota.values()))]:
        quota[breed] += 1
    generator, held = torch.Generator().manual_seed(seed), []
    for breed in sorted(by_breed):
        members = by_breed[breed]
        order = torch.randperm(len(members), generator=generator).tolist()
        held += [members[i] for i in order[:quota[breed]]]
    held = sorted(held)
    kept = set(held)
    return [i for i in range(len(ids)) if i not in kept], held


def training_subset(train_indices, count: int, seed: int = VALIDATION_SEED):
    """`count` of the training indices, for learning curves: the first `count` of one fixed
    seeded order, so smaller subsets are nested in larger ones and the validation images are
    the same at every size."""
    if not 1 <= count <= len(train_indices):
        raise ValueError(f"--train-images {count}: the training split has {len(train_indices)} images; "
                         f"use 1 to {len(train_indices)}")
    order = torch.randperm(len(train_indices), generator=torch.Generator().manual_seed(seed + 1)).tolist()
    return sorted(train_indices[i] for i in order[:count])


class PetTensors(Dataset):
    """Cached uint8 tensors as (float image in [0, 1], long class mask)."""

    def __init__(self, images, masks, augment=None):
        self.images, self.masks, self.augment = images, masks, augment

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        image, mask = tv_tensors.Image(self.images[i]), tv_tensors.Mask(self.masks[i])
        if self.augment is not None:
            image, mask = self.augment(image, mask)
        image = image.as_subclass(torch.Tensor).float().div_(255)
        return image, mask.as_subclass(torch.Tensor).long()


def describe(root, split_sizes: dict) -> dict:
    return {
        "dataset": "Oxford-IIIT Pet (torchvision OxfordIIITPet, segmentation trimaps)",
        "root": str(normalise_root(root)),
        "split_sizes": dict(split_sizes),
        "classes": list(CLASS_NAMES),
    }
