"""Train SegNet variants on Oxford-IIIT Pet; the one way checkpoints come to exist.

    python train.py --test                           # both variants, the default recipe, then the test split
    python train.py --recipe seed                    # the article's recipe, field for field
    python train.py --model segnet_dsc_deep --test   # a mixed SegNet (seg/config.py's VARIANTS)
    python train.py --model segnet_dsc --epochs 2 --limit 32 --lr 3e-4
    python train.py --resume                         # continue an interrupted run
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from seg.checkpoint import (CHECKPOINT_DIR, CheckpointError, load_checkpoint, load_resume, paths, read_meta,
                            save_checkpoint, save_meta, save_resume)
from seg.config import PAIR, VARIANTS
from seg.cost import model_cost
from seg.data import (IGNORE_INDEX, VALIDATION_FRACTION, VALIDATION_SEED, DataNotFoundError, PetTensors,
                      default_data_root, describe, load_cached_split, train_augment, validation_split)
from seg.evaluate import evaluate
from seg.inference import SAMPLE_PHOTO, load_photo, to_input
from seg.metrics import metrics_from_confusion
from seg.models import create_model, init_weights
from seg.recipes import (AUGMENTATIONS, DEFAULT_RECIPE, FIELDS, INITS, OPTIMIZERS, RECIPES, SCHEDULERS, Recipe,
                         RecipeError, as_metadata, check_recipe, get_recipe, lr_at)
from seg.training import DEFAULT_CACHE, bf16_autocast_helps, cpu_name, pick_device, precision_note, training_layout

NUM_SNAPSHOTS = 8  # fixed validation images whose predictions are kept after every epoch


def get_args_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", nargs="+", default=list(PAIR), choices=list(VARIANTS),
                        help="default: the regular and DSC pair; the mixes on request")
    parser.add_argument("--recipe", default=DEFAULT_RECIPE,
                        help=f"one of: {', '.join(RECIPES)} (seg/recipes.py); the flags below override single fields")
    fields = parser.add_argument_group("recipe fields (default: the recipe's value)")
    fields.add_argument("--epochs", type=int)
    fields.add_argument("--batch-size", type=int)
    fields.add_argument("--lr", type=float, help="peak learning rate")
    fields.add_argument("--weight-decay", type=float)
    fields.add_argument("--warmup-epochs", type=float)
    fields.add_argument("--optimizer", help=" | ".join(OPTIMIZERS))
    fields.add_argument("--scheduler", help=" | ".join(SCHEDULERS))
    fields.add_argument("--augment", help=" | ".join(AUGMENTATIONS))
    fields.add_argument("--init", help=" | ".join(INITS))
    fields.add_argument("--size", type=int, help="square training size in px")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test", action="store_true",
                        help="evaluate the test split once, after the last epoch (for checkpoints you ship)")
    parser.add_argument("--device", default="auto", help="auto: cuda, then mps, then cpu")
    parser.add_argument("--data-root", default=None, help="folder holding oxford-iiit-pet/")
    parser.add_argument("--download", action="store_true", help="let torchvision download the data")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE, help="decoded uint8 tensors live here")
    parser.add_argument("--out", default=str(CHECKPOINT_DIR))
    parser.add_argument("--resume", action="store_true", help="continue from the last completed epoch")
    parser.add_argument("--limit", type=int, default=None, help="use N images per split (smoke runs)")
    parser.add_argument("--amp", choices=("auto", "on", "off"), default="auto",
                        help="bf16 autocast for training steps; auto: where the hardware has native bf16")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def recipe_from_args(args) -> Recipe:
    return get_recipe(args.recipe, **{field: getattr(args, field, None) for field in FIELDS})


def make_optimizer(model, recipe: Recipe):
    kind = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[recipe.optimizer]
    return kind(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)


def train_one_epoch(model, optimizer, loader, device, epoch, recipe, autocast=False, channels_last=False, quiet=False):
    """One pass over `loader`; the learning rate is set per step from the recipe's schedule."""
    model.train()
    loss_sum, seen, start = 0.0, 0, time.perf_counter()
    first_step = (epoch - 1) * len(loader)
    bar = tqdm(loader, desc=f"epoch {epoch}", disable=quiet, leave=False, mininterval=5)
    for step, (images, masks) in enumerate(bar):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(recipe, first_step + step, len(loader))
        images, masks = images.to(device), masks.to(device)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            loss = nn.functional.cross_entropy(model(images).float(), masks, ignore_index=IGNORE_INDEX)
        value = loss.item()  # one device sync per step, shared by the check and the running mean
        if not math.isfinite(value):
            raise FloatingPointError(f"loss became {value} at epoch {epoch}, step {step}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += value * len(images)
        seen += len(images)
        bar.set_postfix(loss=f"{loss_sum / seen:.4f}", img_s=f"{seen / (time.perf_counter() - start):.1f}",
                        refresh=False)  # let mininterval pace the bar
    seconds = time.perf_counter() - start
    return {"train_loss": loss_sum / seen, "train_seconds": seconds, "images_per_s": seen / seconds,
            "lr_end": optimizer.param_groups[0]["lr"]}


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def metadata(name, model, recipe, run, history, final, wall):
    """Everything a checkpoint says about itself; `run` holds what does not change per epoch."""
    cost = model_cost(name, recipe.size)["totals"]
    return {
        "model": name, **model.config.to_meta(), "input_size": recipe.size,
        "params": sum(p.numel() for p in model.parameters()), "mult_adds": cost["mult_adds"],
        "data": run["data"], "recipe": as_metadata(recipe), "training": run["training"],
        "history": history, "final": final, "epochs_done": len(history), "device": run["device"],
        "wall_time_s": wall, "torch_version": torch.__version__, "git_commit": run["git_commit"],
        "snapshots": run["snapshots"],
    }


def remove_stale_temp_files(out, name):
    """A write killed halfway leaves its temp file (never the real one): sweep those away."""
    for stale in Path(out).glob(f".{name}.*.tmp"):
        stale.unlink(missing_ok=True)


def build_model(name, recipe, seed, device, channels_last):
    torch.manual_seed(seed)
    model = init_weights(create_model(name), recipe.init).to(device)
    return model.to(memory_format=torch.channels_last) if channels_last else model


@torch.inference_mode()
def predict_sample(model, sample):
    """The model's mask of the bundled CC0 photo: a replay picture wherever the app runs."""
    model.eval()
    return model(sample.to(next(model.parameters()).device)).argmax(1)[0].to(torch.uint8).cpu()


def evaluate_split(model, images, masks, device, keep=None):
    loader = DataLoader(PetTensors(images, masks), batch_size=16)
    scores = evaluate(model, loader, device, keep=keep)
    return {"loss": scores.loss, **metrics_from_confusion(scores.confmat)}, scores.kept


def train_model(name, args, recipe, data, device):
    (train_x, train_y), (val_x, val_y, val_ids), test = data
    if args.resume and test is not None and finished_without_test(args, name, recipe):
        print(f"{name}: training finished earlier; scoring the test split", flush=True)
        return score_test_split(args, name, test, device)
    remove_stale_temp_files(args.out, name)
    autocast = {"on": True, "off": False}.get(args.amp, bf16_autocast_helps(device))
    channels_last = training_layout(device)
    model = build_model(name, recipe, args.seed, device, channels_last)
    optimizer = make_optimizer(model, recipe)
    print(f"{name}: recipe {recipe.name} ({recipe.optimizer} lr {recipe.lr:g}, {recipe.scheduler} schedule, "
          f"{recipe.epochs} epochs, batch {recipe.batch_size}, {recipe.size} px, {recipe.augment} augmentation); "
          f"{len(train_x)} training / {len(val_x)} validation images; {device}, "
          f"{precision_note(device, autocast)}, {'channels_last' if channels_last else 'NCHW'}", flush=True)
    history, snapshots, samples, wall = [], [], [], 0.0
    state = load_resume(args.out, name) if args.resume else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"])
        history, snapshots, samples, wall = state["history"], list(state["snapshots"]), list(state["samples"]), state["wall"]
        print(f"{name}: resuming after epoch {len(history)}")
    keep = torch.linspace(0, len(val_x) - 1, NUM_SNAPSHOTS).round().long().unique().tolist()
    sample = to_input(load_photo(SAMPLE_PHOTO), recipe.size)
    run = {"data": data_description(args, data), "device": str(device), "git_commit": git_commit(),  # at start
           "training": {"seed": args.seed, "limit": args.limit, "autocast": "bf16" if autocast else None,
                        "channels_last": channels_last, "cpu": cpu_name(), "threads": torch.get_num_threads()},
           "snapshots": {"file": paths(args.out, name)["snapshots"].name, "split": "validation",
                         "image_ids": [val_ids[i] for i in keep], "sample": SAMPLE_PHOTO.name}}
    train_set = PetTensors(train_x, train_y, train_augment(recipe.augment, recipe.size))
    for epoch in range(len(history) + 1, recipe.epochs + 1):
        began = time.perf_counter()
        # The shuffle order is a function of (seed, epoch) so a resumed run sees the same batches.
        order = torch.Generator().manual_seed(args.seed * 1000 + epoch)
        loader = DataLoader(train_set, batch_size=recipe.batch_size, shuffle=True, generator=order)
        stats = train_one_epoch(model, optimizer, loader, device, epoch, recipe, autocast, channels_last, args.quiet)
        # Evaluation stays fp32: the metrics are those of the model the app runs.
        val, kept = evaluate_split(model, val_x, val_y, device, keep)
        wall += time.perf_counter() - began
        history.append({"epoch": epoch, **stats, **{f"val_{k}": v for k, v in val.items()}})
        snapshots.append(torch.stack(kept))
        samples.append(predict_sample(model, sample))
        save_checkpoint(args.out, name, model, metadata(name, model, recipe, run, history, None, wall),
                        snapshots, samples)
        save_resume(args.out, name, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                     "rng": torch.get_rng_state(), "history": history,
                                     "snapshots": snapshots, "samples": samples, "wall": wall})
        h = history[-1]
        print(f"{name} epoch {epoch}/{recipe.epochs}: loss {h['train_loss']:.4f} val_loss {h['val_loss']:.4f} "
              f"val_pixel_acc {h['val_pixel_accuracy']:.4f} val_mIoU {h['val_miou']:.4f} "
              f"{h['images_per_s']:.1f} img/s", flush=True)
    if test is not None:
        score_test_split(args, name, test, device)
    paths(args.out, name)["resume"].unlink(missing_ok=True)  # the run is complete


def finished_without_test(args, name, recipe) -> bool:
    """A run that completed every epoch of this recipe without --test: `--resume --test` scores it
    (so the recipe can be chosen on validation first, and the test split read once, after)."""
    p = paths(args.out, name)
    if p["resume"].exists() or not p["meta"].exists():
        return False
    meta = read_meta(p["weights"])
    return (meta.get("final") is None and meta.get("recipe") == as_metadata(recipe)
            and meta.get("epochs_done") == recipe.epochs)


def score_test_split(args, name, test, device) -> None:
    """The test split, once, after training: the numbers a checkpoint ships with. Scored as
    `python -m seg.evaluate` scores it: the saved checkpoint, loaded afresh (the training model's
    channels_last kernels round differently in the last bits). Only the metadata is rewritten."""
    fresh, meta = load_checkpoint(paths(args.out, name)["weights"])
    final, _ = evaluate_split(fresh.to(device), test[0], test[1], device)
    meta["final"] = {"split": "test", "images": len(test[0]), **final}
    meta["data"]["split_sizes"]["test"] = len(test[0])
    save_meta(args.out, name, meta)
    print(f"{name} test ({len(test[0])} images): pixel_acc {final['pixel_accuracy']:.4f} "
          f"mIoU {final['miou']:.4f}", flush=True)


def data_description(args, data):
    (train_x, _), (val_x, _, val_ids), test = data
    info = describe(args.data_root, {"train": train_x, "validation": val_x, **({"test": test[0]} if test else {})})
    info["validation"] = {"carved_from": "trainval", "fraction": VALIDATION_FRACTION, "seed": VALIDATION_SEED,
                          "image_ids": val_ids}
    return info


def load_data(args, recipe):
    """((train images, masks), (validation images, masks, ids), test or None): the validation
    images are a fixed carve-out of trainval; the test split is read only with --test."""
    images, masks, ids = load_cached_split(args.data_root, "trainval", recipe.size, args.cache_dir,
                                           args.download, args.limit)
    train_idx, val_idx = validation_split(len(ids))
    check_recipe(recipe, len(train_idx))
    test = None
    if args.test:
        test = load_cached_split(args.data_root, "test", recipe.size, args.cache_dir, args.download, args.limit)[:2]
    return (images[train_idx], masks[train_idx]), (images[val_idx], masks[val_idx], [ids[i] for i in val_idx]), test


def main(args) -> int:
    try:
        recipe = recipe_from_args(args)
    except RecipeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    device = pick_device(args.device)
    args.data_root = args.data_root or str(default_data_root())
    try:
        data = load_data(args, recipe)
        for name in args.model:
            train_model(name, args, recipe, data, device)
    except (DataNotFoundError, CheckpointError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except FloatingPointError as err:
        print(f"error: {err}; stopped. The last good checkpoint is still in {args.out}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(get_args_parser().parse_args()))
