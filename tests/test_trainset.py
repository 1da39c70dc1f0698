"""The images a run trains on: the breed-stratified validation carve-out, extra training roots
(`train.py --extra-train`), what the metadata records of them, and the data they refuse."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from synthetic import make_oxford_layout

import train
from seg.data.pets import breed_of, species_of
from seg.data.splits import list_digest, load_cached_split, split_ids, validation_split
from seg.data.trainset import names_digest
from seg.model.checkpoint import paths, read_meta


def test_breed_and_species_come_from_the_file_name():
    assert breed_of("american_bulldog_12") == "american_bulldog" and species_of("american_bulldog_12") == "dog"
    assert breed_of("British_Shorthair_3") == "British_Shorthair" and species_of("British_Shorthair_3") == "cat"


def ids_of(counts: dict) -> list[str]:
    return [f"{breed}_{i}" for breed, n in counts.items() for i in range(n)]


def test_validation_is_stratified_by_breed_with_exact_shares():
    # The official trainval's shape: three breeds of 100, then 11, 10, 9 and a tail of small ones.
    counts = {"Abyssinian": 100, "Bengal": 100, "american_bulldog": 100, "Maine_Coon": 11,
              "great_pyrenees": 10, "British_Shorthair": 9, "Birman": 4, "Persian": 4, "pug": 2, "Sphynx": 1}
    ids = ids_of(counts)
    train_idx, val_idx = validation_split(ids)
    assert len(val_idx) == round(len(ids) * 0.2) == 68
    held = {b: sum(breed_of(ids[i]) == b for i in val_idx) for b in counts}
    # 20% rounded down per breed (20, 20, 20, 2, 2, 1, 0, 0, 0, 0 = 65), then the largest remainders
    # (Birman and Persian .8, British_Shorthair .8 ... ties by name) take the last three.
    assert held == {"Abyssinian": 20, "Bengal": 20, "american_bulldog": 20, "Maine_Coon": 2, "great_pyrenees": 2,
                    "British_Shorthair": 2, "Birman": 1, "Persian": 1, "pug": 0, "Sphynx": 0}
    assert sorted(train_idx + val_idx) == list(range(len(ids))) and not set(train_idx) & set(val_idx)
    assert validation_split(ids) == (train_idx, val_idx)  # seeded: the same every run
    assert validation_split(ids, seed=1)[1] != val_idx


def test_validation_of_tiny_splits():
    assert validation_split(["a_1"]) == ([0], [])
    assert len(validation_split(["a_1", "a_2"])[1]) == 1  # at least one of two or more


@pytest.fixture()
def roots(tmp_path):
    main = make_oxford_layout(tmp_path / "main", trainval=10, test=4)
    extra = make_oxford_layout(tmp_path / "extra", trainval=6, test=0, seed=1, prefix="Polygon")
    return main, extra


def run(main, out, *extra):
    argv = ["--data-root", str(main), "--out", str(out), "--cache-dir", str(out / "cache"), "--size", "32",
            "--batch-size", "4", "--quiet", "--model", "segnet_dsc", "--epochs", "1", *extra]
    return train.main(train.get_args_parser().parse_args(argv))


def test_extra_roots_train_only_and_the_metadata_proves_it(roots, tmp_path):
    main, extra = roots
    assert run(main, tmp_path / "out", "--extra-train", str(extra), "--test") == 0
    meta = read_meta(paths(tmp_path / "out", "segnet_dsc")["weights"])
    data = meta["data"]
    val = data["validation"]["image_ids"]
    assert len(val) == 2 and data["validation"]["stratified_by"] == "breed"
    trained = set(data["train_image_ids"])
    assert trained == (set(split_ids(main, "trainval")) - set(val)) | set(split_ids(extra, "trainval"))
    assert data["split_sizes"] == {"train": 8 + 6, "validation": 2, "test": 4}
    assert not trained & set(val) and not trained & set(split_ids(main, "test"))
    assert [(r["path"], r["role"], r["trainval_images"], r["train_images"]) for r in data["roots"]] == [
        (str(main), "main", 10, 8), (str(extra), "extra-train", 6, 6)]
    assert data["roots"][1]["trainval_list_sha256"] == list_digest(extra, "trainval")
    assert data["test_list"]["names_sha256"] == names_digest(split_ids(main, "test"))
    assert meta["training"]["extra_train"] == [str(extra)]


def test_resume_refuses_other_extra_roots(roots, tmp_path, capsys):
    main, extra = roots
    assert run(main, tmp_path / "out", "--extra-train", str(extra)) == 0
    capsys.readouterr()
    assert run(main, tmp_path / "out", "--resume") == 2
    assert "extra_train" in capsys.readouterr().err


def break_trimap(root: Path, how: str) -> str:
    name = split_ids(root, "trainval")[2]
    trimap = root / "oxford-iiit-pet" / "annotations" / "trimaps" / f"{name}.png"
    array = np.array(Image.open(trimap))
    if how == "values":
        array[0, :4] = 7
    else:
        array = array[:-3]
    Image.fromarray(array).save(trimap)
    return str(trimap)


def copy_pair(source: Path, target: Path, name: str) -> None:
    for sub, ext in (("images", "jpg"), ("annotations/trimaps", "png")):
        shutil.copy(source / "oxford-iiit-pet" / sub / f"{name}.{ext}", target / "oxford-iiit-pet" / sub)


def overlap(root: Path, main: Path) -> str:
    """Copies main's test photos into root's trainval: the overlap train.py must refuse."""
    names = split_ids(main, "test")
    for name in names:
        copy_pair(main, root, name)
    listing = root / "oxford-iiit-pet" / "annotations" / "trainval.txt"
    listing.write_text(listing.read_text() + "".join(f"{n} 1 1 1\n" for n in names))
    return "4 of its images are in the main root's test split (" + ", ".join(sorted(names)) + ")"


def make_bad(kind: str, extra: Path, main: Path, tmp_path: Path):
    """(root to pass, words the one-line error must hold)."""
    if kind == "missing":
        return tmp_path / "nowhere", "no such folder"
    if kind == "empty":
        (tmp_path / "empty").mkdir()
        return tmp_path / "empty", "not in torchvision's Oxford-IIIT Pet layout"
    if kind == "no-images-listed":
        (extra / "oxford-iiit-pet" / "annotations" / "trainval.txt").write_text("")
        return extra, "lists no images"
    if kind == "overlap":
        return extra, overlap(extra, main)
    return extra, break_trimap(extra, kind)


@pytest.mark.parametrize("kind", ["missing", "empty", "no-images-listed", "overlap", "values", "size"])
def test_bad_extra_roots_are_one_line_exit_2_and_write_nothing(kind, roots, tmp_path, capsys):
    main, extra = roots
    bad, words = make_bad(kind, extra, main, tmp_path)
    out = tmp_path / "out"
    assert run(main, out, "--extra-train", str(bad)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and words in err[0], err
    assert not out.exists() or not any(out.iterdir()), "nothing written"


def test_a_validation_name_in_an_extra_root_is_refused_too(roots, tmp_path, capsys):
    main, extra = roots
    val = split_ids(main, "trainval")[validation_split(split_ids(main, "trainval"))[1][0]]
    copy_pair(main, extra, val)
    (extra / "oxford-iiit-pet" / "annotations" / "trainval.txt").write_text(f"{val} 1 1 1\n")
    assert run(main, tmp_path / "out", "--extra-train", str(extra)) == 2
    assert f"in the main root's validation split ({val})" in capsys.readouterr().err


def test_the_cache_is_keyed_by_content_not_by_file_times(roots, tmp_path):
    main, _ = roots
    cache = tmp_path / "cache"
    _, masks, ids = load_cached_split(main, "trainval", 24, cache)
    trimap = main / "oxford-iiit-pet" / "annotations" / "trimaps" / f"{ids[0]}.png"
    trimap.touch()
    load_cached_split(main, "trainval", 24, cache)
    assert len(list(cache.glob("*.pt"))) == 1, "the same bytes are the same cache"
    Image.fromarray(np.full(np.array(Image.open(trimap)).shape, 2, np.uint8)).save(trimap)  # all background now
    _, fresh, _ = load_cached_split(main, "trainval", 24, cache)
    assert len(list(cache.glob("*.pt"))) == 2 and (fresh[0] == 1).all() and not (masks[0] == 1).all()
    listing = main / "oxford-iiit-pet" / "annotations" / "trainval.txt"
    listing.write_text("".join(listing.read_text().splitlines(keepends=True)[:-1]))  # one image fewer
    assert len(load_cached_split(main, "trainval", 24, cache)[2]) == 9
    assert len(list(cache.glob("*.pt"))) == 3
