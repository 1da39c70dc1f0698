"""One model in training: its optimizer, precision, memory layout and place among the ranks, and
the two things done with it, an epoch of training and a pass over held-out images.

train.py (through seg/train/checkpointed.py), scripts/tail_probe.py and the distributed test's
helper all train through a Run, so they run the same steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from seg.machine import bf16_autocast_helps, training_layout
from seg.train import distributed
from seg.train.distributed import Context
from seg.train.loop import build_model, epoch_loader, evaluate_split, make_optimizer, train_one_epoch
from seg.train.recipes import Recipe


@dataclass
class Run:
    model: nn.Module  # wrapped for DDP after `distribute`; `net` is the plain module
    recipe: Recipe
    ctx: Context = field(default_factory=Context)
    seed: int = 0
    autocast: bool | None = None  # None: where the hardware has native bf16
    channels_last: bool | None = None  # None: where the device gains from it
    quiet: bool = True
    optimizer: torch.optim.Optimizer = field(init=False)

    def __post_init__(self):
        if self.autocast is None:
            self.autocast = bf16_autocast_helps(self.ctx.device)
        if self.channels_last is None:
            self.channels_last = training_layout(self.ctx.device)
        self.model = self.model.to(self.ctx.device)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.optimizer = make_optimizer(self.model, self.recipe)

    @classmethod
    def new(cls, name: str, recipe: Recipe, ctx: Context, seed: int = 0, **options) -> Run:
        """A freshly initialised variant: the same weights on every rank for a given seed (the
        layout is the Run's to set, in __post_init__)."""
        return cls(build_model(name, recipe, seed, ctx.device, channels_last=False), recipe, ctx, seed, **options)

    @property
    def net(self) -> nn.Module:
        return distributed.unwrap(self.model)

    def resume(self, state: dict) -> None:
        """Model and optimizer as a resume file left them (before `distribute`)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])

    def state(self) -> dict:
        return {"model": self.net.state_dict(), "optimizer": self.optimizer.state_dict()}

    def distribute(self, sync_bn: bool) -> None:
        """DDP over the ranks (a no-op on one process), after any resume: it starts from rank 0's weights."""
        self.model = distributed.wrap(self.model, self.ctx, sync_bn)

    def train_epoch(self, train_set, epoch: int, seed: int | None = None) -> dict:
        """One epoch over `train_set`; the batch order is a function of (seed, epoch) alone."""
        loader = epoch_loader(train_set, self.recipe, self.seed if seed is None else seed, epoch, self.ctx)
        return train_one_epoch(self.model, self.optimizer, loader, self.ctx, epoch, self.recipe,
                               self.autocast, self.channels_last, self.quiet)

    def validate(self, images, masks, keep=()):
        """Loss and metrics over the images (fp32: the model the app runs), and rank 0's masks at `keep`."""
        return evaluate_split(self.model, images, masks, self.ctx, keep)
