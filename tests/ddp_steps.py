"""A few training steps and one evaluation through train.py's own building blocks, on one process
or under torchrun, with BatchNorm synced over the ranks and with each rank's own: rank 0 writes
the per-step global losses and the confusion matrices as JSON.

    python tests/ddp_steps.py OUT.json
    torchrun --standalone --nproc-per-node 2 tests/ddp_steps.py OUT.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seg.data.splits import PetTensors  # noqa: E402
from seg.train import distributed  # noqa: E402
from seg.train.loop import build_model  # noqa: E402
from seg.train.recipes import get_recipe  # noqa: E402
from seg.train.run import Run  # noqa: E402

SIZE, IMAGES, GLOBAL_BATCH = 32, 16, 4  # four steps of one epoch


def synthetic(count: int, seed: int):
    """Images whose bright square is the pet: a task a few steps can start to learn."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 80, (count, 3, SIZE, SIZE), generator=g, dtype=torch.uint8)
    masks = torch.ones(count, SIZE, SIZE, dtype=torch.uint8)
    for i in range(count):
        top, left = torch.randint(0, SIZE // 2, (2,), generator=g).tolist()
        images[i, :, top:top + SIZE // 2, left:left + SIZE // 2] += 150
        masks[i, top:top + SIZE // 2, left:left + SIZE // 2] = 0
    return images, masks


class Float64(torch.nn.Module):
    """The net in float64: max-pool's choices (and so max-unpool's) then never flip on rounding
    noise, which in float32 makes two summation orders diverge within a few steps."""

    def __init__(self, net):
        super().__init__()
        self.net = net.double()

    def forward(self, x):
        return self.net(x.double())


def steps(ctx, sync_bn: bool) -> dict:
    recipe = get_recipe("default", size=SIZE, batch_size=GLOBAL_BATCH, augment="none", epochs=1)
    net = Float64(build_model("segnet_dsc", recipe, seed=0, device=ctx.device, channels_last=False))
    run = Run(net, recipe, ctx, seed=0, autocast=False, channels_last=False)
    run.distribute(sync_bn)
    images, masks = synthetic(IMAGES, seed=1)
    val_images, val_masks = synthetic(7, seed=2)  # odd: the ranks' shares differ in size
    before, _ = run.validate(val_images, val_masks)
    stats = run.train_epoch(PetTensors(images, masks), epoch=1)
    after, _ = run.validate(val_images, val_masks)
    return {"step_losses": stats["step_losses"], "before": before, "after": after}


def main(out: str, modes=("synced", "per_rank")) -> None:
    """Each mode from the same weights and batches: BatchNorm over the global batch, or each rank's own."""
    torch.set_default_dtype(torch.float64)
    ctx = distributed.setup("cpu")
    distributed.check_world(ctx, GLOBAL_BATCH, IMAGES)
    results = {mode: steps(ctx, sync_bn=mode == "synced") for mode in modes}
    if ctx.is_main:
        Path(out).write_text(json.dumps({"world_size": ctx.world_size, **results}))
    distributed.teardown(ctx)


if __name__ == "__main__":
    main(sys.argv[-1])
