"""Segmentation metrics from a confusion matrix (rows: true class, columns: predicted).

Torch-free at import: the app's Segment tab compares masks with mask_agreement before torch is imported."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from seg.data.pets import CLASS_NAMES

if TYPE_CHECKING:
    import torch


def confusion_matrix(target: torch.Tensor, pred: torch.Tensor, num_classes: int) -> torch.Tensor:
    import torch

    target, pred = target.reshape(-1).long(), pred.reshape(-1).long()
    return torch.bincount(target * num_classes + pred, minlength=num_classes**2).reshape(
        num_classes, num_classes
    )


def metrics_from_confusion(confmat: torch.Tensor, class_names=CLASS_NAMES) -> dict:
    """Pixel accuracy, per-class IoU and their mean over classes that occur at all."""
    confmat = confmat.double()
    total = confmat.sum().item()
    correct = confmat.diag()
    union = confmat.sum(0) + confmat.sum(1) - correct
    ious = [(c / u).item() if u > 0 else math.nan for c, u in zip(correct, union)]
    present = [v for v in ious if not math.isnan(v)]
    return {
        "pixel_accuracy": correct.sum().item() / total if total else math.nan,
        "iou": dict(zip(class_names, ious)),
        "miou": sum(present) / len(present) if present else math.nan,
    }


def mask_agreement(a, b, pet_class: int = 0) -> dict:
    """How much two predicted masks (tensors or arrays) agree: all pixels, and IoU of their pet regions."""
    a, b = np.asarray(a), np.asarray(b)
    pet_a, pet_b = a == pet_class, b == pet_class
    union = int((pet_a | pet_b).sum())
    return {
        "pixel_agreement": float((a == b).mean()),
        "pet_iou": int((pet_a & pet_b).sum()) / union if union else 1.0,
    }
