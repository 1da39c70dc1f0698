"""What converting a model to DSC saves, convolution by convolution: parameters and mult-adds
before and after, from the analytic cost model on the shapes of one forward pass.

The counting rule is torchinfo's, so the totals can be checked against it: a convolution (transposed
ones too) costs (weight + bias elements) x its output's height x width per call; any other layer with parameters
costs its parameter count per call (batch 1). A replaced convolution's depthwise and pointwise
parts are counted the same way at the same output size.
"""

from __future__ import annotations

from math import prod

import torch
from torch import nn

from seg.dsc.convert import REPLACED, plan

CONTAINERS = {"features", "backbone", "encoder", "decoder", "body", "layers", "blocks", "stages", "trunk_output"}


def stage_of(name: str) -> str:
    """The part of the model a layer belongs to: its first name, or two where the first is a
    container (torchvision's `features.3`, `backbone.layer2`)."""
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] in CONTAINERS and len(parts) > 1 else parts[0]


def own_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters(recurse=False))


def is_leaf(module: nn.Module) -> bool:
    """torchinfo counts mult-adds of leaf layers only: a parameter held by a container (ConvNeXt's
    layer scale) counts as a parameter but not as mult-adds."""
    return next(module.children(), None) is None


def trace(model: nn.Module, input_size) -> dict[str, list]:
    """Each parameterised leaf layer's output sizes, one per call, from a forward pass on zeros."""
    calls: dict[str, list] = {}
    hooks = [module.register_forward_hook(lambda m, i, out, n=name: calls.setdefault(n, []).append(tuple(out.shape)))
             for name, module in model.named_modules() if own_params(module) and is_leaf(module)]
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *input_size))
    except Exception as err:  # the model's own error, in one line
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        shape = "×".join(map(str, input_size))
        raise ValueError(f"the model cannot run on a {shape} input: {message}") from None
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return calls


def per_position(module: nn.Module) -> bool:
    """torchinfo's rule, by class name: every convolution (transposed ones too) costs its parameters
    at each output position; any other layer once per sample."""
    return "Conv" in type(module).__name__


def separable_params(conv: nn.Conv2d) -> int:
    bias = conv.out_channels if conv.bias is not None else 0
    return conv.in_channels * prod(conv.kernel_size) + conv.in_channels * conv.out_channels + bias


def conv_row(name: str, conv: nn.Conv2d, outputs: list, action: str) -> dict:
    spatial = sum(prod(shape[2:]) for shape in outputs)  # every call's output positions
    before = own_params(conv)
    after = separable_params(conv) if action == REPLACED else before
    return {"name": name, "stage": stage_of(name), "in": conv.in_channels, "out": conv.out_channels,
            "kernel": list(conv.kernel_size), "stride": list(conv.stride), "groups": conv.groups,
            "output": list(outputs[0][1:]) if outputs else None, "calls": len(outputs), "action": action,
            "params_before": before, "params_after": after,
            "mult_adds_before": before * spatial, "mult_adds_after": after * spatial}


def report(model: nn.Module, input_size, include=None, exclude=None) -> dict:
    """Per convolution and in total: what `convert(model, include, exclude)` changes."""
    decisions = plan(model, include, exclude)
    calls = trace(model, input_size)
    modules = dict(model.named_modules())
    rows = [conv_row(name, modules[name], calls.get(name, []), action) for name, action in decisions.items()]
    params = sum(p.numel() for p in model.parameters())
    mult_adds = sum(own_params(modules[name]) * (prod(shape[2:]) if per_position(modules[name]) else 1)
                    for name, shapes in calls.items() for shape in shapes)
    for row in rows:
        row["share_params"] = row["params_before"] / params if params else 0.0
        row["share_mult_adds"] = row["mult_adds_before"] / mult_adds if mult_adds else 0.0
    totals = {**totals_after(params, mult_adds, [r for r in rows if r["action"] == REPLACED]),
              "convolutions": len(rows)}
    return {"input": list(input_size), "convolutions": rows, "totals": totals, "stages": stages(rows)}


def totals_after(params: int, mult_adds: int, replaced: list[dict]) -> dict:
    """The model's totals before, and after converting the given convolutions' rows."""
    return {"params_before": params, "mult_adds_before": mult_adds, "replaced": len(replaced),
            "params_after": params - sum(r["params_before"] - r["params_after"] for r in replaced),
            "mult_adds_after": mult_adds - sum(r["mult_adds_before"] - r["mult_adds_after"] for r in replaced)}


def stages(rows: list[dict]) -> list[dict]:
    """The convolutions' costs summed by stage, in the model's order."""
    out: dict[str, dict] = {}
    for row in rows:
        stage = out.setdefault(row["stage"], {"stage": row["stage"], "convolutions": 0, "replaced": 0,
                                              "params_before": 0, "params_after": 0,
                                              "mult_adds_before": 0, "mult_adds_after": 0})
        stage["convolutions"] += 1
        stage["replaced"] += row["action"] == REPLACED
        for key in ("params_before", "params_after", "mult_adds_before", "mult_adds_after"):
            stage[key] += row[key]
    return list(out.values())
