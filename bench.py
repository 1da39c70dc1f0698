"""One benchmark run: latency, training, input pipeline, calculator, app round trip, scaling.

    python bench.py            # markdown table
    python bench.py --json     # the same as JSON, with latency_ratio_batch1 at the top
Variants are interleaved (A B A B) after warm-up; medians with min-max, all from this run.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics

import torch

from seg.data.pets import default_data_root
from seg.data.splits import PetTensors, decode_sample, load_cached_split, open_split, train_augment
from seg.machine import NATIVE_BF16_FLAGS, bf16_autocast_helps, cpu_flags, cpu_name, training_layout
from seg.model.checkpoint import CHECKPOINT_DIR, CheckpointError, load_checkpoint, paths
from seg.model.cost import model_cost, segnet_cost
from seg.model.factory import create_model
from seg.model.fastpath import OneDNNConv, fast_path, fold_batchnorm
from seg.model.variants import PAIR
from seg.reports import bench as bench_report
from seg.reports import deploy as deploy_report
from seg.serve.inference import predict_logits
from seg.serve.timing import interleaved, latency_by_size, median_min_max
from seg.tabs.cost import DEFAULT_DSC_BLOCKS, cost_view
from tools import bench_browser
from tools.bench_live import bench_live
from tools.bench_serving import bench_app


def stats(seconds) -> dict:
    return median_min_max(seconds, scale=1000.0)  # seconds in, ms out


@torch.inference_mode()
def eager(model, x):
    return model(x)


def trained_or_fresh(name):
    """The shipped weights where they load (what the app runs), else a fresh model."""
    try:
        return load_checkpoint(paths(CHECKPOINT_DIR, name)["weights"])[0]
    except CheckpointError:
        return create_model(name).eval()


def inference_paths(name):
    model = trained_or_fresh(name)
    return {"eager NCHW": (model, False),
            "channels_last": (copy.deepcopy(model).to(memory_format=torch.channels_last), True),
            "channels_last + BN folded": (fold_batchnorm(model).to(memory_format=torch.channels_last), True),
            "+ oneDNN packed conv+ReLU (app)": (fast_path(model), True)}


def bench_latency(reps):
    rows = {}
    for batch in (1, 8):
        x = torch.rand(batch, 3, 128, 128)
        fns = {}
        for name in PAIR:
            for path, (model, cl) in inference_paths(name).items():
                run = predict_logits if cl else eager
                fns[(name, path)] = lambda m=model, run=run: run(m, x)
        for key, seconds in interleaved(fns, reps if batch == 1 else max(3, reps // 4)).items():
            rows[f"{key[0]} | {key[1]} | batch {batch}"] = stats(seconds)
    return rows


def bench_training(reps):
    x, y = torch.rand(8, 3, 128, 128), torch.randint(0, 3, (8, 128, 128))
    cpu = torch.device("cpu")
    bf16, layout = bf16_autocast_helps(cpu), training_layout(cpu)  # what train.py picks here
    fns = {}
    for name in PAIR:
        picked = ("channels_last" if layout else "NCHW") + (" + bf16 autocast" if bf16 else " fp32") + " (train.py)"
        for label, cl, amp in (("eager NCHW fp32", False, False), ("channels_last fp32", True, False),
                               (picked, layout, bf16)):
            if (cl, amp) == (layout, bf16) and label != picked or (cl, amp) == (False, False) and label == picked:
                continue  # the same configuration as another row
            torch.manual_seed(0)
            model = create_model(name).train()
            xx = x.contiguous(memory_format=torch.channels_last) if cl else x
            model = model.to(memory_format=torch.channels_last) if cl else model
            opt = torch.optim.Adam(model.parameters())

            def step(m=model, o=opt, inp=xx, amp=amp):
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
                    loss = torch.nn.functional.cross_entropy(m(inp).float(), y)
                o.zero_grad(set_to_none=True)
                loss.backward()
                o.step()
            fns[(name, label)] = step
    return {f"{k[0]} | {k[1]}": {"images_per_s": 8 / statistics.median(v), **stats(v)}
            for k, v in interleaved(fns, reps, warmup=1).items()}


def conv_time_split(model, x, reps=20) -> dict:
    """Median ms of a forward, and of its depthwise and its other convs each run alone."""
    inputs, convs = {}, [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, OneDNNConv))]
    hooks = [m.register_forward_hook(lambda m, i, o: inputs.__setitem__(m, i[0].clone())) for m in convs]
    run = predict_logits if isinstance(convs[0], OneDNNConv) else eager
    run(model, x)
    for hook in hooks:
        hook.remove()
    fns = {"total": lambda: run(model, x)}
    fns.update({m: (lambda m=m: torch.inference_mode()(m.forward)(inputs[m])) for m in convs})
    medians = {k: statistics.median(v) * 1000 for k, v in interleaved(fns, reps).items()}
    return {"total": medians["total"],
            "depthwise": sum(v for m, v in medians.items() if m != "total" and m.groups > 1),
            "pointwise or regular": sum(v for m, v in medians.items() if m != "total" and m.groups == 1)}


def bench_breakdown():
    """Where the DSC's batch-1 time goes, eager and on the app's path."""
    model, x = trained_or_fresh(PAIR[1]), torch.rand(1, 3, 128, 128)
    return {"eager NCHW": conv_time_split(model, x), "app path": conv_time_split(fast_path(model), x)}


def bench_agreement(images=96):
    """Mask pixels where the app's path and eager fp32 disagree, on real test images."""
    images_u8, _, _ = load_cached_split(default_data_root(), "test", 128, ".cache", limit=images)
    result = {}
    for name in PAIR:
        model = trained_or_fresh(name)
        fast = fast_path(model)
        flipped = sum((eager(model, x).argmax(1) != predict_logits(fast, x).argmax(1)).sum().item()
                      for x in (images_u8.float() / 255).split(1))
        result[name] = {"images": len(images_u8), "pixels": images_u8[:, 0].numel(), "flipped": flipped}
    return result


def bench_pipeline(samples=64):
    root = default_data_root()
    dataset = open_split(root, "trainval")
    images, masks, _ = load_cached_split(root, "trainval", 128, ".cache")
    cached, augmented, augment = PetTensors(images, masks), PetTensors(images, masks, train_augment()), train_augment()
    n = min(samples, len(dataset))

    def decode_epoch(aug):
        for i in range(n):
            image, mask = decode_sample(dataset, i, 128)
            if aug:
                augment(image, mask)

    fns = {"decode every epoch": lambda: decode_epoch(False), "preprocessed cache": lambda: [cached[i] for i in range(n)],
           "decode every epoch + augment": lambda: decode_epoch(True),
           "preprocessed cache + augment": lambda: [augmented[i] for i in range(n)]}
    return {k: {"samples_per_s": n / statistics.median(v)} for k, v in interleaved(fns, 3, warmup=1).items()}


def bench_calculator(reps=50):
    sizes = iter(range(100, 100 + 10 * (reps + 5)))
    times = interleaved({"one slider change (all charts and tables)": lambda: cost_view(next(sizes), 3, 64, 4, DEFAULT_DSC_BLOCKS),
                         "analytic cost of the whole SegNet": lambda: segnet_cost("dsc", 128)}, reps)
    return {k: stats(v) for k, v in times.items()}


def bench_scaling(reps):
    models = [trained_or_fresh(name) for name in PAIR]
    return {row["size"]: row for row in latency_by_size(*models, reps=reps)}


def machine() -> dict:
    return {"cpu": cpu_name(), "native_bf16": sorted(NATIVE_BF16_FLAGS & cpu_flags()), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version()}


def pair_ratio(latency: dict, row: str) -> float:
    """Regular over DSC median ms for one row of the latency table."""
    regular, dsc = (latency[f"{name} | {row}"]["median"] for name in PAIR)
    return regular / dsc


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--reps", type=int, default=20, help="timed rounds for batch-1 latency")
    parser.add_argument("--no-app", action="store_true", help="skip launching the app")
    parser.add_argument("--no-deploy", action="store_true", help="skip exporting, timing and scoring edge files")
    args = parser.parse_args()
    result = {"machine": machine(), "latency": bench_latency(args.reps)}
    lat = result["latency"]
    result["latency_ratio_batch1"] = pair_ratio(lat, "+ oneDNN packed conv+ReLU (app) | batch 1")
    result["latency_ratio_batch1_eager"] = pair_ratio(lat, "eager NCHW | batch 1")
    macs = [model_cost(n)["totals"]["mult_adds"] for n in PAIR]
    result["mult_adds_ratio"] = macs[0] / macs[1]
    result["training"] = bench_training(max(3, args.reps // 4))
    result["breakdown_dsc"] = bench_breakdown()
    result["agreement"] = bench_agreement()
    result["pipeline"] = bench_pipeline()
    result["calculator"] = bench_calculator()
    if not args.no_app:
        result["app"] = bench_app()
    result["live"] = bench_live()
    result["scaling"] = bench_scaling(max(5, args.reps // 2))
    if not args.no_deploy:
        m = result["machine"]
        deploy = deploy_report.measure(f"{m['cpu']}, {m['threads']} threads", reps=max(10, args.reps))
        deploy = bench_browser.with_browser_rows(deploy)  # the same files in headless Chromium
        deploy_report.store.save(deploy_report.PATH, {**deploy, "command": "python bench.py"})
        result["deploy"] = deploy["rows"]
    ordered = {"latency_ratio_batch1": result.pop("latency_ratio_batch1"), **result}
    bench_report.store.save(bench_report.PATH, ordered)
    print(json.dumps(ordered, indent=1) if args.json else bench_report.markdown(ordered))


if __name__ == "__main__":
    main()
