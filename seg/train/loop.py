"""One epoch of training and one evaluation, on one process or on every rank of a torchrun job.

The batches are DistributedSampler's: a permutation drawn from (seed, epoch), each rank taking
every world_size-th index, so the ranks' shares of step k together are the images one process
would put in its batch k. `--batch-size` is the global batch at any world size.
"""

from __future__ import annotations

import hashlib
import math
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from seg.data.pets import CLASS_NAMES, IGNORE_INDEX
from seg.data.splits import PetTensors
from seg.model.factory import create_model, init_weights
from seg.scoring.evaluate import evaluate
from seg.scoring.metrics import metrics_from_confusion
from seg.train.distributed import Context, all_sum, broadcast_buffers, shard, unwrap
from seg.train.recipes import REFERENCE_FAN_IN, Recipe, lr_at


def build_model(name, recipe: Recipe, seed: int, device, channels_last: bool):
    torch.manual_seed(seed)  # every rank starts from the same weights (DDP also broadcasts rank 0's)
    model = init_weights(create_model(name), recipe.init).to(device)
    return model.to(memory_format=torch.channels_last) if channels_last else model


def lr_scale(module: nn.Module, name: str, recipe: Recipe, kernel_size: int) -> float:
    """How much of the recipe's rate one parameter gets (recipes.py's `lr_scaling`)."""
    if recipe.lr_scaling == "none" or not (isinstance(module, nn.Conv2d) and name == "weight"):
        return 1.0
    fan_in = module.weight[0].numel()  # in_channels / groups * k * k
    reference = REFERENCE_FAN_IN if recipe.lr_scaling == "fan_in" else kernel_size ** 2 * module.in_channels
    return math.sqrt(reference / fan_in)


def make_optimizer(model, recipe: Recipe):
    """One parameter group per rate scale, in the model's parameter order (the same groups on
    every build, so a resume file's optimizer state loads into them)."""
    # The net's k: its largest conv kernel (a DSC's depthwise convs have it, its pointwise 1x1).
    kernel_size = max((m.kernel_size[0] for m in model.modules() if isinstance(m, nn.Conv2d)), default=1)
    groups = {}
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            groups.setdefault(lr_scale(module, name, recipe, kernel_size), []).append(param)
    kind = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[recipe.optimizer]
    return kind([{"params": params, "lr": recipe.lr * scale, "lr_scale": scale} for scale, params in groups.items()],
                lr=recipe.lr, weight_decay=recipe.weight_decay)


def epoch_loader(dataset, recipe: Recipe, seed: int, epoch: int, ctx: Context) -> DataLoader:
    """This rank's batches of one epoch. The order is a function of (seed, epoch) alone, so a
    resumed run sees the same batches, at this world size or another."""
    sampler = DistributedSampler(dataset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True,
                                 seed=seed * 1000)
    sampler.set_epoch(epoch)
    # Augmentation draws from torch's global generator: seeded per (seed, epoch, rank), so an
    # epoch replays exactly after a resume and the ranks draw different crops.
    torch.manual_seed(augmentation_seed(seed, epoch, ctx.rank))
    return DataLoader(dataset, batch_size=recipe.batch_size // ctx.world_size, sampler=sampler)


def augmentation_seed(seed: int, epoch: int, rank: int) -> int:
    digest = hashlib.sha256(f"{seed}/{epoch}/{rank}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def train_one_epoch(model, optimizer, loader, ctx: Context, epoch: int, recipe: Recipe, autocast=False,
                    channels_last=False, quiet=False) -> dict:
    """One pass over this rank's batches; the learning rate is set per step from the recipe's
    schedule. The loss of each step is the global batch's (summed over ranks)."""
    model.train()
    device, first_step = ctx.device, (epoch - 1) * len(loader)
    loss_sum, seen, step_losses, start = 0.0, 0, [], time.perf_counter()
    bar = tqdm(loader, desc=f"epoch {epoch}", disable=quiet or not ctx.is_main, leave=False, mininterval=5)
    for step, (images, masks) in enumerate(bar):
        rate = lr_at(recipe, first_step + step, len(loader))
        for group in optimizer.param_groups:
            group["lr"] = rate * group.get("lr_scale", 1.0)  # resume files from before lr_scaling have none
        images, masks = images.to(device), masks.to(device)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            loss = nn.functional.cross_entropy(model(images).float(), masks, ignore_index=IGNORE_INDEX)
        # One sync per step, shared by the check and the running mean; every rank sees the same
        # global value, so a divergence stops all ranks alike.
        total, count = all_sum(ctx, [loss.item() * len(images), len(images)]).tolist()
        value = total / count
        if not math.isfinite(value):
            raise FloatingPointError(f"loss became {value} at epoch {epoch}, step {step}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step_losses.append(value)
        loss_sum, seen = loss_sum + total, seen + int(count)
        bar.set_postfix(loss=f"{loss_sum / seen:.4f}", img_s=f"{seen / (time.perf_counter() - start):.1f}",
                        refresh=False)  # let mininterval pace the bar
    seconds = time.perf_counter() - start
    return {"train_loss": loss_sum / seen, "train_seconds": seconds, "images_per_s": seen / seconds,
            "lr_end": rate, "step_losses": step_losses}


def evaluate_split(model, images, masks, ctx: Context, keep=(), per_image=False):
    """Metrics over every image exactly once (each rank scores its shard; the sums are reduced),
    and rank 0's predicted masks of the images at `keep` (the replay's snapshots). With
    `per_image`, a third item: every image's confusion matrix (N x C x C, in the images' order,
    on every rank), from the same pass (the breed groups' figures)."""
    broadcast_buffers(model, ctx)  # one model on every rank: rank 0's running statistics
    net = unwrap(model)
    mine = shard(ctx, len(images))
    keep = sorted(keep) if ctx.is_main else []
    # Rank 0 keeps the masks of its own share's `keep` images from the pass that scores them;
    # only those on other ranks' shares (none with one process) need a pass of their own.
    share = set(mine)
    in_share = [i for i in keep if i in share]
    classes = len(CLASS_NAMES)
    confmat = torch.zeros(classes, classes, dtype=torch.float64)
    loss_sum = pixels = 0.0
    kept = {}
    rows = torch.zeros(len(images) if per_image else 0, classes, classes, dtype=torch.float64)
    if mine:
        scores = evaluate(net, DataLoader(PetTensors(images[mine], masks[mine]), batch_size=16), ctx.device,
                          keep=[mine.index(i) for i in in_share])
        confmat, pixels = scores.confmat.double(), float(masks[mine].numel())
        loss_sum = scores.loss * pixels
        kept.update(zip(in_share, scores.kept))
        if per_image:
            rows[mine] = scores.per_image.double()  # zeros elsewhere: the sum over ranks places each once
    sums = all_sum(ctx, torch.cat([confmat.flatten(), torch.tensor([loss_sum, pixels], dtype=torch.float64)]))
    confmat, (loss_sum, pixels) = sums[:-2].reshape(classes, classes).round().long(), sums[-2:].tolist()
    elsewhere = [i for i in keep if i not in kept]
    if elsewhere:
        kept.update(zip(elsewhere, evaluate(net, DataLoader(PetTensors(images[elsewhere], masks[elsewhere]),
                                                            batch_size=16), ctx.device,
                                            keep=range(len(elsewhere))).kept))
    result = {"loss": loss_sum / max(pixels, 1), **metrics_from_confusion(confmat)}, [kept[i] for i in keep]
    return (*result, all_sum(ctx, rows).round().long()) if per_image else result


@torch.inference_mode()
def predict_sample(model, sample):
    """The model's mask of the bundled CC0 photo: a replay picture wherever the app runs."""
    net = unwrap(model)
    net.eval()
    return net(sample.to(next(net.parameters()).device)).argmax(1)[0].to(torch.uint8).cpu()
