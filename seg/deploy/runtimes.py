"""Run an exported file the way its users would: ONNX Runtime for `.onnx`, ExecuTorch's runtime
for `.pte`. Also times one file, alone in its process (runtimes in one process spin their thread
pools against each other):

    python -m seg.runtimes exports/segnet_dsc.pte --reps 30     # JSON: median, min, max ms
    python -m seg.runtimes checkpoints/segnet_dsc.safetensors --score   # + accuracy on the test split
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch


def load_runner(path):
    """A function from a 1x3xSxS float tensor to the file's logits, as a tensor."""
    path = Path(path)
    if path.suffix == ".onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return lambda x: torch.from_numpy(session.run(None, {name: np.ascontiguousarray(x.numpy())})[0])
    if path.suffix == ".pte":
        from executorch.runtime import Runtime

        method = Runtime.get().load_program(str(path)).load_method("forward")
        return lambda x: method.execute([x.contiguous()])[0]
    if path.suffix == ".safetensors":  # the app's own path: PyTorch, BN folded, oneDNN-packed
        from seg.model.checkpoint import load_checkpoint
        from seg.model.fastpath import fast_path
        from seg.serve.inference import predict_logits

        model, meta = load_checkpoint(path)
        fast = fast_path(model, meta["input_size"])
        return lambda x: predict_logits(fast, x)
    raise ValueError(f"{path.name}: not an .onnx, .pte or .safetensors file")


@torch.inference_mode()
def score_file(path, images_u8: torch.Tensor, masks: torch.Tensor) -> dict:
    """Pixel accuracy, mIoU and per-class IoU of an exported file on labelled images (uint8 NCHW)."""
    from seg.scoring.metrics import confusion_matrix, metrics_from_confusion

    run, confmat = load_runner(path), torch.zeros(3, 3, dtype=torch.long)
    for image, mask in zip(images_u8.split(1), masks.split(1)):
        confmat += confusion_matrix(mask.long(), run(image.float() / 255).argmax(1), 3)
    return metrics_from_confusion(confmat)


def time_file(path, reps: int = 30, size: int = 128, warmup: int = 3) -> dict:
    from seg.serve.timing import interleaved, median_min_max

    run, x = load_runner(path), torch.rand(1, 3, size, size)
    return median_min_max(interleaved({"file": lambda: run(x)}, reps, warmup)["file"], scale=1000.0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file")
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--score", action="store_true", help="also pixel accuracy and mIoU on all test images")
    args = parser.parse_args(argv)
    result = {"latency_ms": time_file(args.file, args.reps, args.size)}
    if args.score:
        from seg.data.pets import default_data_root
        from seg.data.splits import DEFAULT_CACHE, load_cached_split

        images, masks, _ = load_cached_split(default_data_root(), "test", args.size, DEFAULT_CACHE)
        result.update(images=len(images), **score_file(args.file, images, masks))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
