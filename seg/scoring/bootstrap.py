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


def resample_counts(n: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n): how often each image is drawn. Drawing n images with replacement is a
    multinomial count per image."""
    return np.random.default_rng(seed).multinomial(n, np.full(n, 1 / n), size=resamples)


def resampled_metrics(per_image: np.ndarray, counts: np.ndarray) -> dict:
    """summary_metrics of every resample at once: one matrix product sums its confusion matrices."""
    n, c = per_image.shape[0], per_image.shape[1]
    return summary_metrics((counts @ per_image.reshape(n, -1)).reshape(len(counts), c, c))


def paired_bootstrap(per_image_a, per_image_b, resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    """{metric: {"a", "b", "difference", "ci95": [low, high]}} for a - b, from per-image
    confusion matrices of shape (images, C, C) of two models on the same images."""
    a, b = (np.asarray(x, dtype=np.float64) for x in (per_image_a, per_image_b))
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(f"need two (images, C, C) stacks of one shape; got {a.shape} and {b.shape}")
    counts = resample_counts(len(a), resamples, seed)  # the same images for both: paired
    full_a, full_b = summary_metrics(a.sum(0)), summary_metrics(b.sum(0))
    boot_a, boot_b = resampled_metrics(a, counts), resampled_metrics(b, counts)
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
    boot = resampled_metrics(stack, resample_counts(len(stack), resamples, seed))
    return {key: [float(v) for v in np.percentile(boot[key], [2.5, 97.5])] for key in ("pixel_accuracy", "miou")}
