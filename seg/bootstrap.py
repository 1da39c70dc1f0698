"""The regular - DSC gap with its uncertainty: a paired bootstrap over test images.

Paired: each resample draws the same images for both models, so the spread reflects which
images happen to be in the test set, not two independent draws. Metrics are recomputed from
the summed confusion matrices of the resample, exactly as the point estimate is.
"""

from __future__ import annotations

import numpy as np

RESAMPLES, SEED = 10_000, 0


def summary_metrics(confusions: np.ndarray) -> dict:
    """Pixel accuracy and mIoU of summed confusion matrices; works on (..., C, C) stacks.
    mIoU averages the classes that occur (a class absent from truth and prediction is skipped)."""
    confusions = np.asarray(confusions, dtype=np.float64)
    correct = np.diagonal(confusions, axis1=-2, axis2=-1)
    union = confusions.sum(-1) + confusions.sum(-2) - correct
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, correct / union, np.nan)
    return {"pixel_accuracy": correct.sum(-1) / confusions.sum((-2, -1)), "miou": np.nanmean(iou, axis=-1)}


def paired_bootstrap(per_image_a, per_image_b, resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    """{metric: {"a", "b", "difference", "ci95": [low, high]}} for a - b, from per-image
    confusion matrices of shape (images, C, C) of two models on the same images."""
    a, b = (np.asarray(x, dtype=np.float64) for x in (per_image_a, per_image_b))
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(f"need two (images, C, C) stacks of one shape; got {a.shape} and {b.shape}")
    n, c = a.shape[0], a.shape[1]
    # Drawing n images with replacement = multinomial counts per image; one matrix product
    # then sums every resample's confusion matrices at once.
    counts = np.random.default_rng(seed).multinomial(n, np.full(n, 1 / n), size=resamples)
    sums_a = (counts @ a.reshape(n, -1)).reshape(resamples, c, c)
    sums_b = (counts @ b.reshape(n, -1)).reshape(resamples, c, c)
    full_a, full_b = summary_metrics(a.sum(0)), summary_metrics(b.sum(0))
    boot_a, boot_b = summary_metrics(sums_a), summary_metrics(sums_b)
    out = {}
    for key in ("pixel_accuracy", "miou"):
        low, high = np.percentile(boot_a[key] - boot_b[key], [2.5, 97.5])
        out[key] = {"a": float(full_a[key]), "b": float(full_b[key]),
                    "difference": float(full_a[key] - full_b[key]), "ci95": [float(low), float(high)]}
    return out


def bootstrap_interval(per_image, resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    """{metric: [low, high]}: one model's 95% percentile interval over resampled images, from its
    per-image confusion matrices (images, C, C); the same resampling as `paired_bootstrap`."""
    stack = np.asarray(per_image, dtype=np.float64)
    if stack.ndim != 3 or not len(stack):
        raise ValueError(f"need an (images, C, C) stack; got shape {stack.shape}")
    n, c = stack.shape[0], stack.shape[1]
    counts = np.random.default_rng(seed).multinomial(n, np.full(n, 1 / n), size=resamples)
    boot = summary_metrics((counts @ stack.reshape(n, -1)).reshape(resamples, c, c))
    return {key: [float(v) for v in np.percentile(boot[key], [2.5, 97.5])] for key in ("pixel_accuracy", "miou")}
