"""Which convolutions become depthwise-separable, and the conversion itself.

A convolution is converted where it is an `nn.Conv2d` with a kernel larger than 1x1 and
`groups == 1` (and its qualified name passes the patterns): it becomes the project's
SeparableConv2d — the same kernel, stride, padding, dilation and padding mode on the depthwise
conv (`groups = C_in`), the original bias on the pointwise 1x1 — so every output shape is
unchanged. Grouped (depthwise included) and 1x1 convolutions are left alone, and said so.
"""

from __future__ import annotations

import copy
import re

from torch import nn

from seg.model.layers import SeparableConv2d

REPLACED = "replaced"
LEFT = {"grouped": "left: grouped (already cheap per channel)", "pointwise": "left: 1×1 (nothing to separate)",
        "excluded": "left: excluded by a pattern", "not_included": "left: not matched by --include"}


def patterns(value) -> list[str]:
    """None, one regular expression or several: each is searched for in a convolution's name."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    for item in items:
        try:
            re.compile(item)
        except re.error as err:
            raise ValueError(f"{item!r} is not a regular expression: {err}") from None
    return items


def decide(name: str, conv: nn.Conv2d, include: list[str], exclude: list[str]) -> str:
    if conv.groups != 1:
        return LEFT["grouped"]
    if all(k == 1 for k in conv.kernel_size):
        return LEFT["pointwise"]
    if include and not any(re.search(p, name) for p in include):
        return LEFT["not_included"]
    if any(re.search(p, name) for p in exclude):
        return LEFT["excluded"]
    return REPLACED


def plan(model: nn.Module, include=None, exclude=None) -> dict[str, str]:
    """Every convolution's qualified name -> what convert does with it. A pattern that matches no
    convolution is a mistake worth a message, not a silent no-op."""
    include, exclude = patterns(include), patterns(exclude)
    convs = {name: m for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    for pattern in include + exclude:
        if not any(re.search(pattern, name) for name in convs):
            raise ValueError(f"the pattern {pattern!r} matches no convolution of the model "
                             f"(names look like {', '.join(list(convs)[:3]) or 'nothing: it has none'})")
    return {name: decide(name, conv, include, exclude) for name, conv in convs.items()}


def separable_like(conv: nn.Conv2d) -> SeparableConv2d:
    separable = SeparableConv2d(conv.in_channels, conv.out_channels, conv.kernel_size, bias=conv.bias is not None,
                                stride=conv.stride, padding=conv.padding, dilation=conv.dilation,
                                padding_mode=conv.padding_mode)
    separable.to(device=conv.weight.device, dtype=conv.weight.dtype)
    if conv.bias is not None:  # the one parameter that carries over exactly
        separable.conv_pw.bias.data.copy_(conv.bias.data)
    return separable.train(conv.training)


def convert(model: nn.Module, include=None, exclude=None) -> nn.Module:
    """A converted copy of model (the model itself is untouched); the new convolutions start from
    fresh weights, every module not replaced keeps its own."""
    decisions = plan(model, include, exclude)
    converted = copy.deepcopy(model)
    chosen = {id(converted.get_submodule(name)) for name, what in decisions.items() if what == REPLACED}
    swaps = {}
    # Every parent, shared modules included, so a conv reachable by two names is swapped once for both.
    for parent in list(converted.modules()):
        for child_name, child in list(parent._modules.items()):  # named_children() skips repeats
            if id(child) in chosen:
                swaps.setdefault(id(child), separable_like(child))
                setattr(parent, child_name, swaps[id(child)])
    return converted
