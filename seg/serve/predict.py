"""Masks for many photos without a browser: the app's preprocessing, fast path and mask files.

    python -m seg.predict photos/ my_cat.jpg --out masks/                     # both models
    python -m seg.predict clip.mp4 --model segnet_dsc --out masks/ --overlays  # a video: a mask per frame
    python -m seg.predict photos/ --out masks/ --json > report.json

Per photo and model: `<stem>.<model>.png`, a palette PNG at the photo's size (pixel = class:
0 pet, 1 background, 2 border), and with --overlays `<stem>.<model>.jpg`. Per video and model:
`<stem>.<model>/000001.png`… and with --overlays `<stem>.<model>.mp4`. A file that cannot be read
is reported and skipped; the exit code is 1 if any input failed, 2 if nothing could start.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from seg.model.variants import PAIR, VARIANTS

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi"}


def expand(inputs) -> list[Path]:
    """Files as given, and every file under each folder (sorted); hidden files skipped."""
    files = []
    for item in map(Path, inputs):
        if item.is_dir():
            files += sorted(p for p in item.rglob("*") if p.is_file() and not p.name.startswith("."))
        else:
            files.append(item)
    return files


def stems(files) -> list[str]:
    """An output name per input: its stem, made unique where two inputs share one."""
    seen, names = {}, []
    for path in files:
        count = seen.get(path.stem, 0)
        seen[path.stem] = count + 1
        names.append(path.stem if not count else f"{path.stem}-{count + 1}")
    return names


def predict_photo(models, path: Path, stem: str, out: Path, overlays: bool) -> dict:
    from seg.files import atomic_write
    from seg.serve.overlay import blend, mask_png, upsample_logits
    from seg.serve.photos import load_photo

    photo = load_photo(path)  # PhotoError: reported by the caller, the run goes on
    results = models.segment(photo, list(models.loaded))
    written = []
    for name, result in results.items():
        # the bytes /segment's mask file has: the same upsampling, the same PNG writer
        mask_path = out / f"{stem}.{name}.png"
        full = upsample_logits(result["logits"], photo.size)
        atomic_write(mask_path, lambda tmp: mask_png(full, tmp))
        written.append(str(mask_path))
        if overlays:
            shown = blend(photo, full, 0.5)
            overlay_path = out / f"{stem}.{name}.jpg"
            atomic_write(overlay_path, lambda tmp: shown.save(tmp, format="JPEG", quality=90))
            written.append(str(overlay_path))
    return {"frames": 1, "ms": {n: [r["ms"]] for n, r in results.items()}, "outputs": written}


def predict_video(models, path: Path, stem: str, out: Path, overlays: bool) -> dict:
    from seg.files import atomic_write
    from seg.serve.overlay import blend, mask_png, upsample_logits
    from seg.serve.video import read_video, write_video

    frames, fps = read_video(path)  # VideoError: reported by the caller
    ms = {n: [] for n in models.loaded}
    shown = {n: [] for n in models.loaded}
    folders = {n: out / f"{stem}.{n}" for n in models.loaded}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    for index, frame in enumerate(frames, 1):
        for name, result in models.segment(frame, list(models.loaded)).items():
            ms[name].append(result["ms"])
            full = upsample_logits(result["logits"], frame.size)
            atomic_write(folders[name] / f"{index:06d}.png", lambda tmp: mask_png(full, tmp))
            if overlays:
                shown[name].append(blend(frame, full, 0.5))
    written = [str(f) for f in folders.values()]
    if overlays:
        written += [str(write_video(shown[n], fps, out / f"{stem}.{n}.mp4")) for n in models.loaded]
    return {"frames": len(frames), "ms": ms, "outputs": written}


def run(models, files, out: Path, overlays: bool, quiet: bool) -> list[dict]:
    from tqdm import tqdm

    from seg.serve.photos import PhotoError
    from seg.serve.video import VideoError

    out.mkdir(parents=True, exist_ok=True)
    report = []
    for path, stem in tqdm(list(zip(files, stems(files))), desc="segmenting", unit="file", disable=quiet):
        kind = "video" if path.suffix.lower() in VIDEO_SUFFIXES else "photo"
        entry = {"input": str(path), "kind": kind}
        try:
            if not path.is_file():
                raise OSError(f"no such file: {path}")
            step = predict_video if kind == "video" else predict_photo
            entry.update(step(models, path, stem, out, overlays))
        except (PhotoError, VideoError, OSError) as err:
            entry["error"] = str(err)
            print(f"skipped {path}: {err}", file=sys.stderr)
        report.append(entry)
    return report


def summary(report, names) -> dict:
    done = [r for r in report if "error" not in r]
    per_model = {}
    for name in names:
        times = [t for r in done for t in r["ms"][name]]
        per_model[name] = {"images": len(times), "images_per_s": len(times) / (sum(times) / 1000) if times else 0.0,
                           "mean_ms": sum(times) / len(times) if times else 0.0}
    return {"inputs": len(report), "failed": len(report) - len(done), "models": per_model}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seg.predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", help="photos, videos or folders of them")
    parser.add_argument("--model", nargs="+", default=list(PAIR), choices=list(VARIANTS))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--overlays", action="store_true", help="also the photo (or video) with the mask painted on")
    parser.add_argument("--checkpoint-dir", type=Path, default=None, help="default: checkpoints/")
    parser.add_argument("--json", action="store_true", help="print the per-file report and summary as JSON")
    args = parser.parse_args(argv)
    files = expand(args.paths)
    from seg.model.checkpoint import CHECKPOINT_DIR
    from seg.serve.models import Models

    models = Models(args.checkpoint_dir or CHECKPOINT_DIR, names=args.model)
    if models.errors:
        print("error: " + " ".join(models.errors.values()), file=sys.stderr)
        return 2
    report = run(models, files, args.out, args.overlays, quiet=args.json)
    totals = summary(report, args.model)
    if args.json:
        print(json.dumps({"files": report, "summary": totals}, indent=1))
    else:
        speeds = ", ".join(f"{n} {m['images_per_s']:.1f} images/s" for n, m in totals["models"].items())
        print(f"{totals['inputs'] - totals['failed']} of {totals['inputs']} inputs segmented into {args.out}; {speeds}")
    return 1 if totals["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
