"""Train SegNet variants on Oxford-IIIT Pet; the one way checkpoints come to exist.

    python train.py                                  # both variants, the seed's recipe
    python train.py --model segnet_dsc --epochs 2 --limit 32
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

from seg.checkpoint import (CHECKPOINT_DIR, CheckpointError, load_resume, paths,
                            save_checkpoint, save_resume)
from seg.config import MODEL_KINDS
from seg.cost import model_cost
from seg.data import (DataNotFoundError, PetTensors, default_data_root, describe,
                      load_cached_split, train_augment)
from seg.evaluate import DEFAULT_CACHE, evaluate, pick_device
from seg.metrics import metrics_from_confusion
from seg.models import block_kinds_dict, create_model
from seg.speed import bf16_autocast_helps, training_layout

NUM_SNAPSHOTS = 8  # fixed test images whose predictions are kept after every epoch


def get_args_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", nargs="+", default=["segnet_regular", "segnet_dsc"],
                        choices=[n for n, k in MODEL_KINDS.items() if k])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--size", type=int, default=128, help="square training size in px")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto: cuda, then mps, then cpu")
    parser.add_argument("--data-root", default=None, help="folder holding oxford-iiit-pet/")
    parser.add_argument("--download", action="store_true", help="let torchvision download the data")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE, help="decoded uint8 tensors live here")
    parser.add_argument("--out", default=str(CHECKPOINT_DIR))
    parser.add_argument("--resume", action="store_true", help="continue from the last completed epoch")
    parser.add_argument("--limit", type=int, default=None, help="use N images per split (smoke runs)")
    parser.add_argument("--amp", choices=("auto", "on", "off"), default="auto",
                        help="bf16 autocast for training steps; auto: where the hardware has bf16")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def train_one_epoch(model, optimizer, loader, device, epoch, autocast=False, channels_last=False, quiet=False):
    model.train()
    loss_sum, seen, start = 0.0, 0, time.perf_counter()
    bar = tqdm(loader, desc=f"epoch {epoch}", disable=quiet, leave=False, mininterval=5)
    for step, (images, masks) in enumerate(bar):
        images, masks = images.to(device), masks.to(device)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            loss = nn.functional.cross_entropy(model(images).float(), masks)
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
    return {"train_loss": loss_sum / seen, "train_seconds": seconds, "images_per_s": seen / seconds}


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def metadata(name, model, args, data_info, history, snapshot_ids, device, wall, autocast, channels_last):
    cost = model_cost(name, args.size)["totals"]
    return {
        "model": name, "kinds": block_kinds_dict(model), "kernel_size": model.kernel_size,
        "base_channels": model.base_channels, "num_classes": model.num_classes, "input_size": args.size,
        "params": sum(p.numel() for p in model.parameters()), "mult_adds": cost["mult_adds"],
        "data": data_info,
        "recipe": {"optimizer": "Adam", "lr": args.lr, "scheduler": None, "epochs": args.epochs,
                   "batch_size": args.batch_size, "size": args.size, "seed": args.seed,
                   "loss": "cross_entropy", "augmentation": ["RandomHorizontalFlip", "ColorJitter(0.2, 0.2, 0.2, 0.05)"],
                   "limit": args.limit, "autocast": "bf16" if autocast else None, "channels_last": channels_last},
        "history": history, "final": history[-1] if history else None,
        "epochs_done": len(history), "device": str(device), "wall_time_s": wall,
        "torch_version": torch.__version__, "git_commit": git_commit(),
        "snapshots": {"file": f"{name}.snapshots.npz", "split": "test", "image_ids": snapshot_ids},
    }


def remove_stale_temp_files(out, name):
    """A write killed halfway leaves its temp file (never the real one): sweep those away."""
    for stale in Path(out).glob(f".{name}.*.tmp"):
        stale.unlink(missing_ok=True)


def train_model(name, args, data, device):
    (train_x, train_y, _), (test_x, test_y, test_ids) = data
    remove_stale_temp_files(args.out, name)
    torch.manual_seed(args.seed)
    model = create_model(name).to(device)
    channels_last = training_layout(name, device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    history, snapshots, wall, start_epoch = [], [], 0.0, 1
    state = load_resume(args.out, name) if args.resume else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"])
        history, snapshots, wall = state["history"], list(state["snapshots"]), state["wall"]
        start_epoch = len(history) + 1
        print(f"{name}: resuming after epoch {len(history)}")
    keep = torch.linspace(0, len(test_x) - 1, NUM_SNAPSHOTS).round().long().unique().tolist()
    autocast = {"on": True, "off": False}.get(args.amp, bf16_autocast_helps(device))
    train_set = PetTensors(train_x, train_y, train_augment())
    test_loader = DataLoader(PetTensors(test_x, test_y), batch_size=16)
    data_info = describe(args.data_root, {"trainval": train_x, "test": test_x})
    for epoch in range(start_epoch, args.epochs + 1):
        began = time.perf_counter()
        # The shuffle order is a function of (seed, epoch) so a resumed run sees the same batches.
        order = torch.Generator().manual_seed(args.seed * 1000 + epoch)
        loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, generator=order, drop_last=False)
        stats = train_one_epoch(model, optimizer, loader, device, epoch, autocast, channels_last, args.quiet)
        # Evaluation stays fp32: the metrics are those of the model the app runs.
        confmat, test_loss, kept = evaluate(model, test_loader, device, keep=keep)
        wall += time.perf_counter() - began
        history.append({"epoch": epoch, **stats, "test_loss": test_loss, **metrics_from_confusion(confmat)})
        snapshots.append(torch.stack(kept))
        meta = metadata(name, model, args, data_info, history, [test_ids[i] for i in keep], device, wall,
                        autocast, channels_last)
        save_checkpoint(args.out, name, model, meta, snapshots)
        save_resume(args.out, name, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                     "rng": torch.get_rng_state(), "history": history,
                                     "snapshots": snapshots, "wall": wall})
        h = history[-1]
        print(f"{name} epoch {epoch}/{args.epochs}: loss {h['train_loss']:.4f} test_loss {h['test_loss']:.4f} "
              f"pixel_acc {h['pixel_accuracy']:.4f} mIoU {h['miou']:.4f} {h['images_per_s']:.1f} img/s", flush=True)
    paths(args.out, name)["resume"].unlink(missing_ok=True)  # the run is complete


def main(args) -> int:
    device = pick_device(args.device)
    args.data_root = args.data_root or str(default_data_root())
    try:
        data = [load_cached_split(args.data_root, split, args.size, args.cache_dir, args.download, args.limit)
                for split in ("trainval", "test")]
        for name in args.model:
            train_model(name, args, data, device)
    except (DataNotFoundError, CheckpointError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except FloatingPointError as err:
        print(f"error: {err}; stopped. The last good checkpoint is still in {args.out}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(get_args_parser().parse_args()))
