"""Models by name, built without weights (no network): `torchvision:resnet50`, `seg:segnet_dsc`."""

from __future__ import annotations

from functools import lru_cache

from torch import nn

HOW = ("name a model as torchvision:NAME (e.g. torchvision:resnet50; torchvision.models.list_models() "
       "lists them) or seg:VARIANT ({variants})")


class UnknownModel(ValueError):
    """A name that names no model: the message says how to name one."""


@lru_cache(maxsize=1)
def torchvision_names() -> dict[str, str]:
    """Every classification and segmentation architecture torchvision builds: name -> kind."""
    import torchvision

    models = torchvision.models
    found = {name: "classification" for name in models.list_models(module=models)}
    return found | {name: "segmentation" for name in models.list_models(module=models.segmentation)}


def seg_names() -> list[str]:
    from seg.model.variants import VARIANTS

    return list(VARIANTS)


def build(spec: str) -> nn.Module:
    """The named architecture with fresh weights, in eval mode."""
    source, _, name = spec.partition(":")
    if source == "torchvision" and name in torchvision_names():
        import torchvision

        extra = {"weights_backbone": None} if torchvision_names()[name] == "segmentation" else {}
        return torchvision.models.get_model(name, weights=None, **extra).eval()
    if source == "seg" and name in seg_names():
        from seg.model.factory import create_model

        return create_model(name).eval()
    raise UnknownModel(f"unknown model {spec!r}: {HOW.format(variants=', '.join(seg_names()))}")


def default_input(spec: str) -> tuple[int, int, int]:
    """The input an architecture is usually shown at: 128x128 for the SegNets, 224x224 otherwise
    (520x520 is torchvision's segmentation size, but slow to trace on a CPU)."""
    return (3, 128, 128) if spec.startswith("seg:") else (3, 224, 224)
