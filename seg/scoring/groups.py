"""Accuracy by breed group: the three breeds that hold most of the test images, the other 30,
cats and dogs, each with its 95% bootstrap interval over the group's images.

Why: 298 of the 335 official test images are Abyssinian, Bengal or american_bulldog, so the
overall figure mostly measures them; visitors upload any breed.
"""

from __future__ import annotations

import numpy as np

from seg.data.pets import DOMINANT_BREEDS, breed_of, species_of
from seg.scoring.bootstrap import RESAMPLES, SEED, bootstrap_interval, paired_bootstrap, summary_metrics

GROUPS = {  # name: which image ids belong
    "all": lambda image_id: True,
    "three dominant breeds": lambda image_id: breed_of(image_id) in DOMINANT_BREEDS,
    "other breeds": lambda image_id: breed_of(image_id) not in DOMINANT_BREEDS,
    "cats": lambda image_id: species_of(image_id) == "cat",
    "dogs": lambda image_id: species_of(image_id) == "dog",
}
METRICS = ("pixel_accuracy", "miou")


def members(ids) -> dict:
    """{group: indices of its images in `ids`}, groups without images left out."""
    found = {name: [i for i, image_id in enumerate(ids) if belongs(image_id)] for name, belongs in GROUPS.items()}
    return {name: index for name, index in found.items() if index}


def group_report(per_image, ids, resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    """{group: {"images", "breeds", pixel_accuracy, miou, and each one's "_ci95"}} from one model's
    per-image confusion matrices (images, C, C) in the order of `ids`."""
    stack = np.asarray(per_image, dtype=np.float64)
    if len(stack) != len(ids):
        raise ValueError(f"{len(stack)} confusion matrices for {len(ids)} image names")
    out = {}
    for name, index in members(ids).items():
        point = summary_metrics(stack[index].sum(0))
        interval = bootstrap_interval(stack[index], resamples, seed)
        out[name] = {"images": len(index), "breeds": len({breed_of(ids[i]) for i in index}),
                     **{m: float(point[m]) for m in METRICS}, **{f"{m}_ci95": interval[m] for m in METRICS}}
    return out


def group_gaps(per_image_a, per_image_b, ids, resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    """{group: {metric: {"a", "b", "difference", "ci95"}}}: a - b by group, paired over its images."""
    a, b = np.asarray(per_image_a), np.asarray(per_image_b)
    return {name: {"images": len(index), **paired_bootstrap(a[index], b[index], resamples, seed)}
            for name, index in members(ids).items()}


def groups_markdown(reports: dict, metric: str = "pixel_accuracy", label=lambda model: f"`{model}`") -> str:
    """One row per model ({model: group_report}), one column per group: the metric and its interval."""
    names = [g for g in GROUPS if any(g in r for r in reports.values())]
    counts = {g: next(r[g]["images"] for r in reports.values() if g in r) for g in names}
    lines = ["| model | " + " | ".join(f"{g} ({counts[g]})" for g in names) + " |",
             "|---|" + "---:|" * len(names)]
    for model, report in reports.items():
        cells = [format_cell(report[g], metric) if g in report else "" for g in names]
        lines.append(f"| {label(model)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_cell(entry: dict, metric: str) -> str:
    low, high = entry[f"{metric}_ci95"]
    return f"{entry[metric]:.2%} [{low:.1%}, {high:.1%}]"
