"""Train SegNet variants on Oxford-IIIT Pet; the one way checkpoints come to exist.

    python train.py --test                           # both variants, the default recipe, then the test split
    python train.py --recipe seed                    # the article's recipe, field for field
    python train.py --model segnet_dsc_deep --test   # a mixed SegNet (seg/model/config.py's VARIANTS)
    python train.py --model segnet_dsc --epochs 2 --limit 32 --lr 3e-4
    python train.py --extra-train ../shared/data-polygons       # more training images, never validated on
    python train.py --resume                         # continue an interrupted run
"""

from __future__ import annotations

import argparse
import sys

from seg.data.splits import DEFAULT_CACHE
from seg.model.checkpoint import CHECKPOINT_DIR
from seg.model.variants import PAIR, VARIANTS
from seg.train import distributed
from seg.train.checkpointed import train
from seg.train.recipes import AUGMENTATIONS, DEFAULT_RECIPE, INITS, LR_SCALINGS, OPTIMIZERS, RECIPES, SCHEDULERS


def get_args_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", nargs="+", default=list(PAIR), choices=list(VARIANTS),
                        help="default: the regular and DSC pair; the mixes on request")
    parser.add_argument("--recipe", default=DEFAULT_RECIPE,
                        help=f"one of: {', '.join(RECIPES)} (seg/train/recipes.py); the flags below override single fields")
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
    fields.add_argument("--lr-scaling", help=" | ".join(LR_SCALINGS) + " (per-conv rates, seg/train/recipes.py)")
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


def main(args) -> int:
    """0 done, 1 the loss diverged, 2 a clear error (printed): the run itself is seg/train/checkpointed.py."""
    return train(args)


if __name__ == "__main__":
    sys.exit(main(get_args_parser().parse_args()))
