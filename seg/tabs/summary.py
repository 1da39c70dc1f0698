"""The numbers under the Segment tab's overlays: per model ms, parameters, mult-adds, and how
far the masks agree, for the regular/DSC pair (what /segment returns) or any set of variants."""

from __future__ import annotations

from itertools import combinations

from seg.model.cost import human
from seg.model.variants import PAIR, VARIANTS
from seg.scoring.metrics import mask_agreement


def model_numbers(loaded, ms: float) -> dict:
    meta = loaded.meta
    return {"ms": round(ms, 2), "params": meta["params"], "mult_adds": meta["mult_adds"],
            "input_size": meta["input_size"], "device": str(loaded.device)}


def agreements(masks: dict) -> dict:
    """{"A vs B": agreement} for every pair of the masks, in the order given."""
    return {f"{a} vs {b}": mask_agreement(masks[a], masks[b]) for a, b in combinations(masks, 2)}


def pair_markdown(summary: dict) -> str:
    """The regular/DSC table with the regular / DSC ratio: /segment's `stats` output."""
    models = summary["models"]
    reg, dsc = (models[n] for n in PAIR)
    rows = ["| | Regular SegNet | DSC SegNet | regular / DSC |", "|---|---:|---:|---:|"]
    rows.append(f"| inference (this photo) | {reg['ms']:.1f} ms | {dsc['ms']:.1f} ms | {reg['ms'] / max(dsc['ms'], 1e-9):.1f}× |")
    rows.append(f"| parameters | {human(reg['params'])} | {human(dsc['params'])} | {reg['params'] / dsc['params']:.1f}× |")
    rows.append(f"| mult-adds at {reg['input_size']}×{reg['input_size']} | {human(reg['mult_adds'])} | "
                f"{human(dsc['mult_adds'])} | {reg['mult_adds'] / dsc['mult_adds']:.1f}× |")
    a = summary["agreement"]
    rows.append(f"\n**Agreement of the two masks:** pet IoU {a['pet_iou']:.1%}, "
                f"pixels labelled alike {a['pixel_agreement']:.1%}.")
    return "\n".join(rows)


def many_markdown(models: dict, masks: dict) -> str:
    """A column per variant shown, each figure also as a share of the first (regular) column's,
    then the agreement of every pair of masks."""
    names = list(models)
    base = models[names[0]]
    rows = ["| | " + " | ".join(VARIANTS[n].title for n in names) + " |", "|---|" + "---:|" * len(names)]

    def line(label, key, fmt):
        cells = [f"{fmt(models[n][key])} ({models[n][key] / max(base[key], 1e-9):.0%})" for n in names]
        rows.append(f"| {label} | " + " | ".join(cells) + " |")

    line("inference (this photo)", "ms", lambda v: f"{v:.1f} ms")
    line("parameters", "params", human)
    line(f"mult-adds at {base['input_size']}×{base['input_size']}", "mult_adds", human)
    rows += ["", f"Percentages: of the {VARIANTS[names[0]].title}.", "",
             "| masks | pet IoU | pixels labelled alike |", "|---|---:|---:|"]
    for key, a in agreements(masks).items():
        left, right = key.split(" vs ")
        rows.append(f"| {VARIANTS[left].title} vs {VARIANTS[right].title} | {a['pet_iou']:.1%} | {a['pixel_agreement']:.1%} |")
    return "\n".join(rows)
