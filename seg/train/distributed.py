"""train.py on one process or many: torchrun's environment in, one rank's view of the run out.

    torchrun --standalone --nproc-per-node 4 train.py ...        # four GPUs (or CPU ranks) of one machine

One process without torchrun is world size 1 and runs no collective at all. Under torchrun
every rank trains on its share of each global batch; only rank 0 writes files or prints.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from seg.machine import pick_device

DEFAULT_TIMEOUT_S = 300  # a rank that never arrives ends the run instead of hanging it


class DistributedError(RuntimeError):
    """A distributed set-up that cannot work, with the fix."""


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None  # None: a single process, no process group
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup(device_name: str = "auto", timeout_s: float = DEFAULT_TIMEOUT_S, env=os.environ) -> Context:
    """The process group torchrun's environment asks for (NCCL on CUDA, gloo on CPU), one device per rank."""
    world = int(env.get("WORLD_SIZE", 1))
    device = pick_device(device_name)
    if world <= 1:
        return Context(device=device)
    rank, local_rank = int(env["RANK"]), int(env.get("LOCAL_RANK", 0))
    if device.type == "cuda":
        if torch.cuda.device_count() <= local_rank:
            raise DistributedError(f"rank {rank} wants GPU {local_rank} but this machine has "
                                   f"{torch.cuda.device_count()}; use --nproc-per-node {torch.cuda.device_count()}")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    try:
        dist.init_process_group(backend, rank=rank, world_size=world,
                                timeout=datetime.timedelta(seconds=timeout_s))
    except Exception as err:  # the store's errors differ by version; the fix does not
        where = f"{env.get('MASTER_ADDR', '?')}:{env.get('MASTER_PORT', '?')}"
        raise DistributedError(f"rank {rank} could not join the process group at {where} within {timeout_s:g} s "
                               f"({err}); check --rdzv-endpoint and that every node can reach it") from None
    return Context(rank, world, local_rank, backend, device)


def teardown(ctx: Context) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()


def check_world(ctx: Context, global_batch: int, train_images: int | None = None) -> None:
    """What every rank can check alone, before any collective: all ranks stop alike, none hangs."""
    if not ctx.distributed:
        return
    if global_batch % ctx.world_size:
        fits = [n for n in range(1, global_batch + 1) if global_batch % n == 0]
        raise DistributedError(f"--batch-size {global_batch} is the global batch and must split evenly over "
                               f"{ctx.world_size} ranks; use a multiple of {ctx.world_size} or "
                               f"--nproc-per-node in {fits}")
    if train_images is not None and train_images < ctx.world_size:
        raise DistributedError(f"{ctx.world_size} ranks but only {train_images} training images: every rank "
                               f"needs at least one; use --nproc-per-node {max(train_images, 1)} or more data")


def barrier(ctx: Context) -> None:
    if ctx.distributed:
        dist.barrier()


def broadcast(ctx: Context, value):
    """Rank 0's `value` on every rank (any picklable object)."""
    if not ctx.distributed:
        return value
    box = [value if ctx.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def rank0_first(ctx: Context, fn):
    """fn() on rank 0, then on the first rank of every other machine, then on the rest: what the
    first builds (the data cache) the others only read, and no two ranks of a machine build at
    once. A failure anywhere is raised on every rank, so none waits for it."""
    result = None
    for turn in (ctx.is_main, ctx.local_rank == 0 and not ctx.is_main, ctx.local_rank != 0):
        error = None
        if turn:
            try:
                result = fn()
            except Exception as err:
                error = err
        errors = [error]
        if ctx.distributed:
            errors = [None] * ctx.world_size
            dist.all_gather_object(errors, error)
        failed = next((e for e in errors if e is not None), None)
        if failed is not None:
            raise failed
    return result


def all_sum(ctx: Context, values) -> torch.Tensor:
    """The sum over ranks of a float64 tensor (or list of numbers), on every rank."""
    total = torch.as_tensor(values, dtype=torch.float64)
    if ctx.distributed:
        moved = total.to(ctx.device)
        dist.all_reduce(moved)
        total = moved.cpu()
    return total


def all_devices(ctx: Context) -> list[str]:
    if not ctx.distributed:
        return [str(ctx.device)]
    devices = [None] * ctx.world_size
    dist.all_gather_object(devices, str(ctx.device))
    return devices


def shard(ctx: Context, count: int) -> list[int]:
    """This rank's indices of `count` items for evaluation: each item on exactly one rank (no padding)."""
    return list(range(ctx.rank, count, ctx.world_size))


class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks with a gradient: the backward of a sum handed to every rank is the sum of
    the ranks' gradients."""

    @staticmethod
    def forward(ctx, tensor):
        total = tensor.clone()
        dist.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx, grad):
        total = grad.clone()
        dist.all_reduce(total)
        return total


class AllReduceBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm over the global batch on CPU ranks (torch's SyncBatchNorm is GPU-only): the batch
    mean and variance are all-reduced, differentiably, so gradients flow through them as in
    single-process BatchNorm. Same parameters and buffers as BatchNorm2d: checkpoints load either way."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized()):
            return super().forward(x)
        all_reduce = _AllReduceSum.apply
        x32 = x.to(torch.promote_types(x.dtype, torch.float32))  # bf16 under autocast: stats in fp32
        count = all_reduce(torch.tensor([x32.numel() / x32.shape[1]], dtype=x32.dtype))
        mean = all_reduce(x32.sum((0, 2, 3))) / count
        centred = x32 - mean[None, :, None, None]
        var = all_reduce(centred.square().sum((0, 2, 3))) / count  # two passes: as exact as one process
        with torch.no_grad():
            self.num_batches_tracked.add_(1)
            self.running_mean.lerp_(mean, self.momentum)
            self.running_var.lerp_(var * count / (count - 1).clamp(min=1), self.momentum)
        scale = (self.weight / torch.sqrt(var + self.eps))[None, :, None, None]
        return centred * scale + self.bias[None, :, None, None]


def sync_batchnorm(model: nn.Module, device: torch.device) -> nn.Module:
    """Every BatchNorm2d normalised over the global batch: torch's SyncBatchNorm on GPUs, ours on CPU."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    for name, child in model.named_children():
        if type(child) is nn.BatchNorm2d:
            synced = AllReduceBatchNorm2d(child.num_features, child.eps, child.momentum, child.affine,
                                          child.track_running_stats, device=device)
            # The same Parameter and buffer objects, as torch's convert_sync_batchnorm keeps them:
            # an optimizer made before the swap (train.py makes it before a resume) still steps them.
            for key, value in [*child.named_parameters(recurse=False), *child.named_buffers(recurse=False)]:
                setattr(synced, key, value)
            setattr(model, name, synced)
        else:
            sync_batchnorm(child, device)
    return model


def wrap(model: nn.Module, ctx: Context, sync_bn: bool) -> nn.Module:
    """DistributedDataParallel around `model` (optionally with global-batch BatchNorm); as is alone."""
    if not ctx.distributed:
        return model
    if sync_bn:
        model = sync_batchnorm(model, ctx.device)
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def broadcast_buffers(model: nn.Module, ctx: Context) -> None:
    """Rank 0's BatchNorm running statistics on every rank, so every rank evaluates one model."""
    if ctx.distributed:
        for buffer in unwrap(model).buffers():
            dist.broadcast(buffer, src=0)
