"""A shipped variant trained into a folder, as train.py runs it: a checkpoint and a resume file
after every epoch, --resume, metadata that says everything about the run, the test split once.

Works on one process or every rank of a torchrun job; rank 0 alone reads and writes files.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import torch
from PIL import Image

from seg.data.decode import to_input
from seg.data.pets import BadTrimapError, DataNotFoundError, default_data_root
from seg.data.splits import PetTensors, train_augment
from seg.data.trainset import load_run_data
from seg.files import REPO, SAMPLE_PHOTO
from seg.machine import cpu_name, precision_note
from seg.model.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_resume,
    paths,
    read_meta,
    save_checkpoint,
    save_meta,
    save_resume,
)
from seg.model.cost import model_cost
from seg.model.factory import create_model
from seg.scoring.bootstrap import RESAMPLES, SEED
from seg.scoring.groups import group_report
from seg.train import distributed
from seg.train.distributed import Context, DistributedError
from seg.train.loop import evaluate_split, predict_sample
from seg.train.recipes import (
    FIELDS,
    Recipe,
    RecipeError,
    as_metadata,
    check_recipe,
    differences,
    from_metadata,
    get_recipe,
)
from seg.train.run import Run

NUM_SNAPSHOTS = 8  # fixed validation images whose predictions are kept after every epoch


def recipe_from_args(args) -> Recipe:
    return get_recipe(args.recipe, **{field: getattr(args, field, None) for field in FIELDS})


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=REPO, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def metadata(name, model, recipe, facts, history, final, wall):
    """Everything a checkpoint says about itself; `facts` holds what does not change per epoch."""
    cost = model_cost(name, recipe.size)["totals"]
    return {
        "model": name, **model.config.to_meta(), "input_size": recipe.size,
        "params": sum(p.numel() for p in model.parameters()), "mult_adds": cost["mult_adds"],
        "data": facts["data"], "recipe": as_metadata(recipe), "training": facts["training"],
        "distributed": facts["distributed"],
        "history": history, "final": final, "epochs_done": len(history), "device": facts["device"],
        "wall_time_s": wall, "torch_version": torch.__version__, "git_commit": facts["git_commit"],
        "snapshots": facts["snapshots"],
    }


def remove_stale_temp_files(out, name):
    """A write killed halfway leaves its temp file (never the real one): sweep those away."""
    for stale in Path(out).glob(f".{name}.*.tmp"):
        stale.unlink(missing_ok=True)


def train_model(name, args, recipe, data, ctx: Context):
    """One variant, epoch after epoch into `args.out`: a checkpoint and a resume file after each
    (rank 0 writes), the test split scored once at the end with --test."""
    (train_x, train_y), (val_x, val_y, val_ids), test, described = data
    if args.resume and test is not None and distributed.broadcast(ctx, ctx.is_main and finished_without_test(
            args, name, recipe)):
        say(ctx, f"{name}: training finished earlier; scoring the test split")
        return score_test_split(args, name, test, ctx)
    if ctx.is_main:
        remove_stale_temp_files(args.out, name)
    run = Run.new(name, recipe, ctx, args.seed, autocast={"on": True, "off": False}.get(args.amp), quiet=args.quiet)
    sync_bn = ctx.distributed and args.sync_bn
    say(ctx, start_line(name, recipe, run, len(train_x), len(val_x), sync_bn))
    history, snapshots, samples, wall = [], [], [], 0.0
    # Rank 0 reads the resume file and hands it round: other nodes need not share its disk.
    state = distributed.broadcast(ctx, load_resume(args.out, name) if args.resume and ctx.is_main else None)
    if state is not None:
        run.resume(state)
        history, snapshots, samples, wall = state["history"], list(state["snapshots"]), list(state["samples"]), state["wall"]
        say(ctx, f"{name}: resuming after epoch {len(history)}")
    run.distribute(sync_bn)
    keep = torch.linspace(0, len(val_x) - 1, NUM_SNAPSHOTS).round().long().unique().tolist()
    sample = sample_input(recipe.size)
    facts = run_facts(args, name, recipe, run, described, sync_bn, [val_ids[i] for i in keep])
    train_set = PetTensors(train_x, train_y, train_augment(recipe.augment, recipe.size))
    for epoch in range(len(history) + 1, recipe.epochs + 1):
        began = time.perf_counter()
        stats = run.train_epoch(train_set, epoch)
        stats.pop("step_losses")  # per step: for the distributed equivalence test, not the history
        val, kept = run.validate(val_x, val_y, keep)
        wall += time.perf_counter() - began
        history.append({"epoch": epoch, **stats, **{f"val_{k}": v for k, v in val.items()}})
        if ctx.is_main:  # the only writer: checkpoint, snapshots, resume file
            snapshots.append(torch.stack(kept))
            samples.append(predict_sample(run.model, sample))
            save_checkpoint(args.out, name, run.net, metadata(name, run.net, recipe, facts, history, None, wall),
                            snapshots, samples)
            save_resume(args.out, name, {**run.state(), "history": history, "snapshots": snapshots,
                                         "samples": samples, "wall": wall})
        h = history[-1]
        say(ctx, f"{name} epoch {epoch}/{recipe.epochs}: loss {h['train_loss']:.4f} val_loss {h['val_loss']:.4f} "
            f"val_pixel_acc {h['val_pixel_accuracy']:.4f} val_mIoU {h['val_miou']:.4f} "
            f"{h['images_per_s']:.1f} img/s")
    distributed.barrier(ctx)  # the checkpoint is on disk before anyone reads it
    if test is not None:
        score_test_split(args, name, test, ctx)
    if ctx.is_main:
        paths(args.out, name)["resume"].unlink(missing_ok=True)  # the run is complete


def sample_input(size: int) -> torch.Tensor:
    """The bundled sample photo as the model's input: the replay's picture wherever the app runs."""
    with Image.open(SAMPLE_PHOTO) as photo:
        return to_input(photo.convert("RGB"), size)


def start_line(name, recipe, run: Run, train_images: int, val_images: int, sync_bn: bool) -> str:
    ctx = run.ctx
    return (f"{name}: recipe {recipe.name} ({recipe.optimizer} lr {recipe.lr:g}"
            f"{'' if recipe.lr_scaling == 'none' else ', per-conv rates ' + recipe.lr_scaling}, "
            f"{recipe.scheduler} schedule, {recipe.epochs} epochs, batch {recipe.batch_size}, {recipe.size} px, "
            f"{recipe.augment} augmentation); {train_images} training / {val_images} validation images; "
            f"{ctx.device}, {precision_note(ctx.device, run.autocast)}, "
            f"{'channels_last' if run.channels_last else 'NCHW'}"
            + (f"; {ctx.world_size} ranks ({ctx.backend}), {recipe.batch_size // ctx.world_size} images per rank "
               f"per step, {'synchronised' if sync_bn else 'per-rank'} BatchNorm" if ctx.distributed else ""))


def run_facts(args, name, recipe, run: Run, described, sync_bn, snapshot_ids) -> dict:
    """What the metadata says of a run that does not change per epoch (taken at its start)."""
    ctx = run.ctx
    return {"data": described, "device": str(ctx.device), "git_commit": git_commit(),
            "training": {"seed": args.seed, "limit": args.limit, "train_images": args.train_images,
                         "extra_train": args.extra_train, "autocast": "bf16" if run.autocast else None,
                         "channels_last": run.channels_last, "cpu": cpu_name(), "threads": torch.get_num_threads()},
            "distributed": {"world_size": ctx.world_size, "backend": ctx.backend, "sync_bn": sync_bn,
                            "devices": distributed.all_devices(ctx), "global_batch": recipe.batch_size},
            "snapshots": {"file": paths(args.out, name)["snapshots"].name, "split": "validation",
                          "image_ids": snapshot_ids, "sample": SAMPLE_PHOTO.name}}


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
    final, _, per_image = evaluate_split(fresh.to(ctx.device), test[0], test[1], ctx, per_image=True)
    if ctx.is_main:
        meta["final"] = {"split": "test", "images": len(test[0]), **final,
                         "groups": group_report(per_image.numpy(), test[2]),
                         "bootstrap": {"resamples": RESAMPLES, "seed": SEED},
                         # every figure above follows from these, and any image can be checked afresh
                         "confusion_per_image": per_image.tolist()}
        meta["data"]["split_sizes"]["test"] = len(test[0])
        save_meta(args.out, name, meta)
    say(ctx, f"{name} test ({len(test[0])} images): pixel_acc {final['pixel_accuracy']:.4f} "
        f"mIoU {final['miou']:.4f}")


def train(args) -> int:
    """train.py's whole run: 0 done, 2 a clear error (printed), 1 the loss diverged."""
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
