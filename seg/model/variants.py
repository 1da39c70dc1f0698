"""The named nets (SegNets and U-Nets): one record per variant holds everything anything shows or builds of it.

The app, train.py, bench.py, the reports and the tests take their lists from VARIANTS; a new
variant is one `register` call (docs/architecture.md). "segnet_mixed" is any per-block mix (the
calculator's), given its kinds.
"""

from __future__ import annotations

from dataclasses import dataclass

from seg.model.config import ARCHITECTURES, BLOCK_NAMES, CONV_KINDS, NetConfig, check_choice, dsc_in, resolve_kinds

MIXED = "segnet_mixed"


@dataclass(frozen=True)
class Variant:
    name: str
    kinds: tuple[str, ...]  # per block, in its architecture's order ("regular" or "dsc" alone: every block)
    title: str  # its name in the app, the charts and the tables
    blurb: str  # one line on what it is, where the app offers it
    colour: str  # its line and marker in every chart
    article_pixel_accuracy: float | None = None  # the article's test figure, where it reports one
    architecture: str = "segnet"  # or "unet" (seg/model/config.py's ARCHITECTURES)

    def __post_init__(self):
        check_choice("architecture", self.architecture, tuple(ARCHITECTURES))
        object.__setattr__(self, "kinds", resolve_kinds(self.kinds, ARCHITECTURES[self.architecture]))


VARIANTS: dict[str, Variant] = {}  # in display order
PAIR = ("segnet_regular", "segnet_dsc")  # the article's two, side by side by default
# Each architecture's regular net and its all-DSC twin: the comparison report's gaps.
PAIRS = {"SegNet": PAIR, "U-Net": ("unet_regular", "unet_dsc")}


def register(variant: Variant) -> Variant:
    if variant.name in VARIANTS or variant.name == MIXED:
        raise ValueError(f"a variant named {variant.name!r} exists already")
    VARIANTS[variant.name] = variant
    return variant


def extras() -> tuple[str, ...]:
    """The variants beyond the pair (the mixed SegNets, the U-Nets): the app offers them on request."""
    return tuple(n for n in VARIANTS if n not in PAIR)


def titles() -> dict[str, str]:
    return {n: v.title for n, v in VARIANTS.items()}


def colour_of(name: str) -> str | None:
    return VARIANTS[name].colour if name in VARIANTS else None


def article_figures() -> dict[str, float]:
    """The article's test pixel accuracy, for the variants it reports."""
    return {n: v.article_pixel_accuracy for n, v in VARIANTS.items() if v.article_pixel_accuracy is not None}


def variant_config(name: str, kinds=None, **fields) -> NetConfig:
    """The config of a named variant; `kinds` is required for segnet_mixed, refused otherwise."""
    check_choice("model", name, (*VARIANTS, MIXED))
    if name == MIXED:
        if kinds is None:
            raise ValueError(f"{name} needs kinds: a list of {len(BLOCK_NAMES)} of {CONV_KINDS}")
        return NetConfig(kinds=kinds, **fields)
    variant = VARIANTS[name]
    if kinds is not None and resolve_kinds(kinds, ARCHITECTURES[variant.architecture]) != variant.kinds:
        raise ValueError(f"{name} has fixed kinds {variant.kinds!r}; use {MIXED} for other kinds")
    return NetConfig(kinds=variant.kinds, architecture=variant.architecture, **fields)


register(Variant("segnet_regular", "regular", "Regular SegNet", "regular convolutions in every block",
                 "#4c6ef5", article_pixel_accuracy=0.8828))
register(Variant("segnet_dsc", "dsc", "DSC SegNet", "depthwise-separable convolutions in every block",
                 "#f08c00", article_pixel_accuracy=0.8696))
# The two mixes split the net by where its cost is (python -m seg.cost): the deep blocks hold 97%
# of the regular parameters and 66% of its mult-adds; the shallow ones run at full and half
# resolution, where the spatial detail of the mask is.
register(Variant("segnet_dsc_deep", dsc_in("enc3", "enc4", "dec4", "dec3"), "Deep-DSC SegNet",
                 "DSC in the deep blocks (enc3, enc4, dec4, dec3), regular elsewhere", "#2b8a3e"))
register(Variant("segnet_dsc_shallow", dsc_in("enc1", "enc2", "dec2", "dec1"), "Shallow-DSC SegNet",
                 "DSC in the shallow blocks (enc1, enc2, dec2, dec1), regular elsewhere", "#ae3ec9"))
# A U-Net pair (seg/model/unet.py): the article cites a U-Net at 91.3% (128x128, the full dataset,
# 100 epochs). The DSC one is what seg.dsc.convert makes of the regular one (tests/test_unet.py).
register(Variant("unet_regular", "regular", "Regular U-Net", "a U-Net (skip connections) with regular convolutions",
                 "#0c8599", article_pixel_accuracy=0.913, architecture="unet"))
register(Variant("unet_dsc", "dsc", "DSC U-Net", "the same U-Net with depthwise-separable convolutions",
                 "#d6336c", architecture="unet"))
