"""How each file is made: ONNX through torch.onnx (dynamo), int8 ONNX through ONNX Runtime's static
quantization; `.pte` through torch.export + ExecuTorch's XNNPACK partitioner, int8 `.pte` through
the PT2E flow with XNNPACK's quantizer. Each `write` returns the details its card records."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import torch

OPSET = 18


def write(target, model: torch.nn.Module, size: int, path: Path, calibration=None) -> dict:
    example = (torch.zeros(1, 3, size, size),)
    if target.format == "onnx":
        return write_onnx(model, example, path, calibration)
    return write_pte(model, example, path, calibration)


def write_onnx(model, example, path: Path, calibration=None) -> dict:
    program = torch.onnx.export(model, example, dynamo=True, opset_version=OPSET, input_names=["image"],
                                output_names=["logits"], verbose=False)
    if calibration is None:
        program.save(str(path), external_data=False)  # one self-contained file, weights inside
        return {"runtime": "ONNX Runtime (CPUExecutionProvider) or onnxruntime-web", "opset": OPSET}
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        program.save(str(fp32), external_data=False)
        return quantize_onnx(fp32, path, calibration)


def quantize_onnx(fp32: Path, path: Path, calibration) -> dict:
    """An int8 ONNX file from an fp32 one: ONNX Runtime's static quantization (QDQ, per channel)."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "ready.onnx"
        quant_pre_process(str(fp32), str(ready), skip_optimization=True)  # its constant folding stores
        # MaxUnpool's zero-filled buffers as initializers: 7.9 MB of float zeros in the DSC's file
        quantize_static(str(ready), str(path), images_reader(calibration.images), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibration_cache_path=calibration.cache)
    ranges = "stored with the checkpoint" if calibration.stored else "measured now"
    return {"runtime": "ONNX Runtime (CPUExecutionProvider) or onnxruntime-web", "opset": OPSET,
            "calibration": f"{calibration.measured_on}, ranges {ranges} (ONNX Runtime quantize_static, QDQ)"}


def images_reader(images):
    """ONNX Runtime's calibration input, one image per batch; None where stored ranges are used."""
    if images is None:
        return None
    from onnxruntime.quantization import CalibrationDataReader

    class Images(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(images.split(1))

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {"image": batch.numpy()}

    return Images()


def write_pte(model, example, path: Path, calibration=None) -> dict:
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    details = {"runtime": "ExecuTorch", "backend": "XNNPACK"}
    if calibration is not None:
        model = quantize_pt2e(model, example, calibration.images)
        details["calibration"] = f"{calibration.measured_on} (PT2E, XNNPACKQuantizer per-channel)"
    program = torch.export.export(model, example)
    edge = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
    details["delegated"] = delegation(edge.exported_program().graph_module)
    path.write_bytes(edge.to_executorch().buffer)
    return details


def quantize_pt2e(model, example, calibration):
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    # A BatchNorm left in the graph (the SegNet's, on its input) makes convert_pt2e look for conv-BN
    # QAT patterns to fold: 96 pattern graphs traced, 35 s, for none. The same arithmetic without it:
    model = batchnorms_as_affine(model)
    prepared = prepare_pt2e(torch.export.export(model, example).module(), quantizer)
    with torch.no_grad():
        for image in calibration.split(1):  # the program is exported for batch 1
            prepared(image)
    return convert_pt2e(prepared)


class ChannelAffine(torch.nn.Module):
    """An eval-mode BatchNorm2d written as what it computes: x * scale + shift, per channel."""

    def __init__(self, bn: torch.nn.BatchNorm2d):
        super().__init__()
        weight = bn.weight if bn.affine else torch.ones_like(bn.running_var)
        bias = bn.bias if bn.affine else torch.zeros_like(bn.running_mean)
        scale = weight / torch.sqrt(bn.running_var + bn.eps)
        self.register_buffer("scale", scale.detach().reshape(1, -1, 1, 1))
        self.register_buffer("shift", (bias - bn.running_mean * scale).detach().reshape(1, -1, 1, 1))

    def forward(self, x):
        return x * self.scale + self.shift


def batchnorms_as_affine(model: torch.nn.Module) -> torch.nn.Module:
    """A copy in eval mode whose BatchNorm2d layers are ChannelAffine."""
    model = copy.deepcopy(model).eval()
    for name, module in list(model.named_modules()):
        if isinstance(module, torch.nn.BatchNorm2d):
            parent_name, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent_name) if parent_name else model, child, ChannelAffine(module))
    return model


def delegation(graph_module) -> dict:
    """How much of the program XNNPACK took: operator nodes inside its delegates vs left out."""
    from executorch.devtools.backend_debug import get_delegation_info

    info = get_delegation_info(graph_module)
    left = {}
    for op, row in info.delegation_by_operator.items():
        if row.non_delegated:
            left[op] = row.non_delegated
    total = info.num_delegated_nodes + info.num_non_delegated_nodes
    return {"nodes_delegated": info.num_delegated_nodes, "nodes_not_delegated": info.num_non_delegated_nodes,
            "fraction": info.num_delegated_nodes / total if total else 0.0, "not_delegated_ops": left}


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {"torch": torch.__version__}
    for package in ("onnx", "onnxscript", "onnxruntime", "executorch", "torchao"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            pass
    return found
