"""Train SegNet variants on Oxford-IIIT Pet; the one way checkpoints come to exist.

    python train.py --test                           # both variants, the default recipe, then the test split
    python train.py --recipe seed                    # the article's recipe, field for field
    python train.py --model segnet_dsc_deep --test   # a mixed SegNet (seg/config.py's VARIANTS)
    python train.py --model segnet_dsc --epochs 2 --limit 32 --lr 3e-4
    python train.py --extra-train ../shared/data-polygons       # more training images, never validated on
    python train.py --resume                         # continue an interrupted run
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from seg import distributed
from seg.checkpoint import (CHECKPOINT_DIR, CheckpointError, load_checkpoint, load_resume, paths, read_meta,
                            save_checkpoint, save_meta, save_resume)
from seg.config import PAIR, VARIANTS
from seg.bootstrap import RESAMPLES, SEED
from seg.cost import model_cost
from seg.evaluate import evaluate
from seg.groups import group_report
from seg.data import DataNotFoundError, PetTensors, default_data_root, train_augment
from seg.distributed import Context, DistributedError
from seg.inference import SAMPLE_PHOTO, load_photo, to_input
from seg.loop import build_model, epoch_loader, evaluate_split, make_optimizer, predict_sample, train_one_epoch
from seg.models import create_model
from seg.recipes import (AUGMENTATIONS, DEFAULT_RECIPE, FIELDS, INITS, LR_SCALINGS, OPTIMIZERS, RECIPES,
                         SCHEDULERS, Recipe, RecipeError, as_metadata, check_recipe, differences, from_metadata,
                         get_recipe)
from seg.pets import BadTrimapError
from seg.trainset import load_run_data
from seg.training import DEFAULT_CACHE, bf16_autocast_helps, cpu_name, precision_note, training_layout

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
    fields.add_argument("--lr-scaling", help=" | ".join(LR_SCALINGS) + " (per-conv rates, seg/recipes.py)")
    fields.add_argument("--size", type=int, help="square training size in px")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test", action="store_true",
                        help="evaluate the test split once, after the last epoch (for checkpoints you ship)")
    parser.add_argument("--device", default="auto", help="auto: cuda, then mps, then cpu")
    parser.add_argument("--data-root", default=None, help="folder holding oxford-iiit-pet/")
    parser.add_argument("--download", action="store_true", help="let torchvision download the data")
    parser.add_argument("--extra-train", action="append", default=[], metavar="ROOT",
                        help="also train on this root's trainval images (repeatable; e.g. ../shared/data-polygons); "
                             "never validated or tested on")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE, help="decoded uint8 tensors live here")
    parser.add_argument("--out", default=str(CHECKPOINT_DIR))
    parser.add_argument("--resume", action="store_true", help="continue from the last completed epoch")
    parser.add_argument("--limit", type=int, default=None, help="use N images per split (smoke runs)")
    parser.add_argument("--train-images", type=int, default=None,
                        help="train on N of the training images (a fixed, nested subset: learning curves); "
                             "the validation images stay the same")
    parser.add_argument("--amp", choices=("auto", "on", "off"), default="auto",
                        help="bf16 autocast for training steps; auto: where the hardware has native bf16")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    group = parser.add_argument_group("under torchrun (README: Training on several GPUs or machines)")
    group.add_argument("--sync-bn", action=argparse.BooleanOptionalAction, default=True,
                       help="BatchNorm over the global batch when there is more than one rank")
    group.add_argument("--dist-timeout", type=float, default=distributed.DEFAULT_TIMEOUT_S,
                       help="seconds a rank waits for the others before the run stops")
    return parser


def recipe_from_args(args) -> Recipe:
    return get_recipe(args.recipe, **{field: getattr(args, field, None) for field in FIELDS})


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
        "distributed": run["distributed"],
        "history": history, "final": final, "epochs_done": len(history), "device": run["device"],
        "wall_time_s": wall, "torch_version": torch.__version__, "git_commit": run["git_commit"],
        "snapshots": run["snapshots"],
    }


def remove_stale_temp_files(out, name):
    """A write killed halfway leaves its temp file (never the real one): sweep those away."""
    for stale in Path(out).glob(f".{name}.*.tmp"):
        stale.unlink(missing_ok=True)


def train_model(name, args, recipe, data, ctx: Context):
    (train_x, train_y), (val_x, val_y, val_ids), test, described = data
    if args.resume and test is not None and distributed.broadcast(ctx, ctx.is_main and finished_without_test(
            args, name, recipe)):
        say(ctx, f"{name}: training finished earlier; scoring the test split")
        return score_test_split(args, name, test, ctx)
    if ctx.is_main:
        remove_stale_temp_files(args.out, name)
    autocast = {"on": True, "off": False}.get(args.amp, bf16_autocast_helps(ctx.device))
    channels_last = training_layout(ctx.device)
    model = build_model(name, recipe, args.seed, ctx.device, channels_last)
    optimizer = make_optimizer(model, recipe)
    sync_bn = ctx.distributed and args.sync_bn
    say(ctx, f"{name}: recipe {recipe.name} ({recipe.optimizer} lr {recipe.lr:g}"
        f"{'' if recipe.lr_scaling == 'none' else ', per-conv rates ' + recipe.lr_scaling}, {recipe.scheduler} schedule, "
        f"{recipe.epochs} epochs, batch {recipe.batch_size}, {recipe.size} px, {recipe.augment} augmentation); "
        f"{len(train_x)} training / {len(val_x)} validation images; {ctx.device}, "
        f"{precision_note(ctx.device, autocast)}, {'channels_last' if channels_last else 'NCHW'}"
        + (f"; {ctx.world_size} ranks ({ctx.backend}), {recipe.batch_size // ctx.world_size} images per rank "
           f"per step, {'synchronised' if sync_bn else 'per-rank'} BatchNorm" if ctx.distributed else ""))
    history, snapshots, samples, wall = [], [], [], 0.0
    # Rank 0 reads the resume file and hands it round: other nodes need not share its disk.
    state = distributed.broadcast(ctx, load_resume(args.out, name) if args.resume and ctx.is_main else None)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history, snapshots, samples, wall = state["history"], list(state["snapshots"]), list(state["samples"]), state["wall"]
        say(ctx, f"{name}: resuming after epoch {len(history)}")
    model = distributed.wrap(model, ctx, sync_bn)  # after loading: DDP starts from rank 0's weights
    keep = torch.linspace(0, len(val_x) - 1, NUM_SNAPSHOTS).round().long().unique().tolist()
    sample = to_input(load_photo(SAMPLE_PHOTO), recipe.size)
    run = {"data": described, "device": str(ctx.device), "git_commit": git_commit(),  # at start
           "training": {"seed": args.seed, "limit": args.limit, "train_images": args.train_images,
                        "extra_train": args.extra_train,
                        "autocast": "bf16" if autocast else None,
                        "channels_last": channels_last, "cpu": cpu_name(), "threads": torch.get_num_threads()},
           "distributed": {"world_size": ctx.world_size, "backend": ctx.backend, "sync_bn": sync_bn,
                           "devices": distributed.all_devices(ctx), "global_batch": recipe.batch_size},
           "snapshots": {"file": paths(args.out, name)["snapshots"].name, "split": "validation",
                         "image_ids": [val_ids[i] for i in keep], "sample": SAMPLE_PHOTO.name}}
    train_set = PetTensors(train_x, train_y, train_augment(recipe.augment, recipe.size))
    for epoch in range(len(history) + 1, recipe.epochs + 1):
        began = time.perf_counter()
        loader = epoch_loader(train_set, recipe, args.seed, epoch, ctx)
        stats = train_one_epoch(model, optimizer, loader, ctx, epoch, recipe, autocast, channels_last,
                                args.quiet)
        stats.pop("step_losses")  # per step: for the distributed equivalence test, not the history
        # Evaluation stays fp32: the metrics are those of the model the app runs.
        val, kept = evaluate_split(model, val_x, val_y, ctx, keep)
        wall += time.perf_counter() - began
        history.append({"epoch": epoch, **stats, **{f"val_{k}": v for k, v in val.items()}})
        if ctx.is_main:  # the only writer: checkpoint, snapshots, resume file
            snapshots.append(torch.stack(kept))
            samples.append(predict_sample(model, sample))
            net = distributed.unwrap(model)
            save_checkpoint(args.out, name, net, metadata(name, net, recipe, run, history, None, wall),
                            snapshots, samples)
            save_resume(args.out, name, {"model": net.state_dict(), "optimizer": optimizer.state_dict(),
                                         "history": history, "snapshots": snapshots, "samples": samples,
                                         "wall": wall})
        h = history[-1]
        say(ctx, f"{name} epoch {epoch}/{recipe.epochs}: loss {h['train_loss']:.4f} val_loss {h['val_loss']:.4f} "
            f"val_pixel_acc {h['val_pixel_accuracy']:.4f} val_mIoU {h['val_miou']:.4f} "
            f"{h['images_per_s']:.1f} img/s")
    distributed.barrier(ctx)  # the checkpoint is on disk before anyone reads it
    if test is not None:
        score_test_split(args, name, test, ctx)
    if ctx.is_main:
        paths(args.out, name)["resume"].unlink(missing_ok=True)  # the run is complete


def say(ctx: Context, line: str) -> None:
    if ctx.is_main:
        print(line, flush=True)


def finished_without_test(args, name, recipe) -> bool:
    """A run that completed every epoch of this recipe without --test: `--resume --test` scores it
    (so the recipe can be chosen on validation first, and the test split read once, after)."""
    p = paths(args.out, name)
    if p["resume"].exists() or not p["meta"].exists():
        return False
    meta = read_meta(p["weights"])  # its recipe is this one: train_all refused a --resume that changes it
    return meta.get("final") is None and meta.get("epochs_done") == recipe.epochs


def resume_mismatch(args, name, recipe) -> str | None:
    """Why `--resume` must not continue this run: another recipe would mix two schedules (and,
    with another rate scaling, two optimizer layouts) in one checkpoint, another --train-images
    two training sets. None when it may."""
    p = paths(args.out, name)
    if not p["meta"].exists():
        return None
    meta = read_meta(p["weights"])
    recorded = from_metadata(meta["recipe"])
    changed = [f"{f} {v!r}" for f, v in differences(recorded, recipe).items()]
    trained_on = meta.get("training", {}).get("train_images")  # older runs: all of them (None)
    if trained_on != args.train_images:
        changed.append(f"train_images {trained_on!r}")  # a learning-curve point continued on other images
    extra = meta.get("training", {}).get("extra_train", [])
    if extra != args.extra_train:
        changed.append(f"extra_train {extra!r}")  # one run, one set of training images
    if not changed:
        return None
    return (f"{name} in {args.out} was trained with {', '.join(changed)}, which this command changes; "
            f"resume with the run's recipe and flags, or train afresh in another --out")


def score_test_split(args, name, test, ctx: Context) -> None:
    """The test split, once, after training: the numbers a checkpoint ships with. Scored as
    `python -m seg.evaluate` scores it: the saved checkpoint, loaded afresh (the training model's
    channels_last kernels round differently in the last bits), each rank a share of the images.
    Only the metadata is rewritten."""
    fresh, meta = load_checkpoint(paths(args.out, name)["weights"]) if ctx.is_main else (create_model(name), None)
    weights = distributed.broadcast(ctx, fresh.state_dict() if ctx.is_main else None)
    if not ctx.is_main:
        fresh.load_state_dict(weights)  # rank 0's file, on every rank
    final, _ = evaluate_split(fresh.to(ctx.device), test[0], test[1], ctx)
    if ctx.is_main:
        meta["final"] = {"split": "test", "images": len(test[0]), **final,
                         "groups": test_groups(fresh, test, ctx.device), "bootstrap": {"resamples": RESAMPLES,
                                                                                      "seed": SEED}}
        meta["data"]["split_sizes"]["test"] = len(test[0])
        save_meta(args.out, name, meta)
    say(ctx, f"{name} test ({len(test[0])} images): pixel_acc {final['pixel_accuracy']:.4f} "
        f"mIoU {final['miou']:.4f}")


def test_groups(model, test, device) -> dict:
    """seg.evaluate's breed groups: every test image's confusion matrix, on rank 0 alone."""
    images, masks, ids = test
    per_image = evaluate(model, DataLoader(PetTensors(images, masks), batch_size=16), device).per_image
    return group_report(per_image.numpy(), ids)


def main(args) -> int:
    try:
        recipe = recipe_from_args(args)
        ctx = distributed.setup(args.device, args.dist_timeout)
    except (RecipeError, DistributedError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        return train_all(args, recipe, ctx)
    finally:
        distributed.teardown(ctx)


def train_all(args, recipe, ctx: Context) -> int:
    """Every rank returns the same code: the checks and failures below are the same on all of them."""
    args.given_data_root = args.data_root or str(default_data_root())  # the metadata records it as given
    args.data_root = args.given_data_root
    args.quiet = args.quiet or not ctx.is_main
    try:
        distributed.check_world(ctx, recipe.batch_size)  # before any data is read
        if args.resume:
            mismatch = distributed.broadcast(ctx, ctx.is_main and next(
                filter(None, (resume_mismatch(args, n, recipe) for n in args.model)), None))
            if mismatch:
                raise RecipeError(mismatch)
        data = distributed.rank0_first(ctx, lambda: load_run_data(args, recipe.size))  # rank 0 builds the cache
        distributed.check_world(ctx, recipe.batch_size, len(data[0][0]))  # names the ranks: first
        check_recipe(recipe, len(data[0][0]))
        for name in args.model:
            train_model(name, args, recipe, data, ctx)
    except (DataNotFoundError, BadTrimapError, CheckpointError, DistributedError, ValueError) as err:
        if ctx.is_main:
            print(f"error: {err}", file=sys.stderr)
        return 2
    except FloatingPointError as err:
        if ctx.is_main:
            print(f"error: {err}; stopped. The last good checkpoint is still in {args.out}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(get_args_parser().parse_args()))
