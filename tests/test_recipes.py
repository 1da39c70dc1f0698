"""Recipes, the learning-rate schedule, the validation carve-out and native-bf16 detection."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from synthetic import make_oxford_layout

import train
from seg.data.splits import PetTensors, train_augment, training_subset, validation_split
from seg.machine import bf16_autocast_helps, cpu_flags, cpu_name
from seg.model.checkpoint import paths, read_meta
from seg.model.variants import VARIANTS
from seg.train.distributed import Context
from seg.train.loop import build_model, make_optimizer, train_one_epoch
from seg.train.recipes import RECIPES, REFERENCE_FAN_IN, RecipeError, get_recipe, lr_at

CPU = torch.device("cpu")


def test_seed_recipe_is_the_articles_field_by_field():
    assert dataclasses.asdict(RECIPES["seed"]) == {
        "name": "seed", "optimizer": "adam", "lr": 1e-3, "weight_decay": 0.0, "warmup_epochs": 0.0,
        "scheduler": "none", "epochs": 20, "batch_size": 8, "size": 128, "augment": "seed",
        "init": "default", "lr_scaling": "none", "loss": "cross_entropy",
    }
    transforms = [type(t).__name__ for t in train_augment("seed").transforms]
    assert transforms == ["RandomHorizontalFlip", "ColorJitter"]


@pytest.mark.parametrize("recipe", list(RECIPES))
@pytest.mark.parametrize("name", VARIANTS)
def test_each_recipe_builds_and_takes_one_step(recipe, name):
    r = get_recipe(recipe, size=32, batch_size=2)
    model = build_model(name, r, seed=0, device=CPU, channels_last=True)
    before = [p.detach().clone() for p in model.parameters()]
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    masks = torch.randint(0, 3, (2, 32, 32), dtype=torch.uint8)
    loader = torch.utils.data.DataLoader(PetTensors(images, masks, train_augment(r.augment, r.size)), batch_size=2)
    stats = train_one_epoch(model, make_optimizer(model, r), loader, Context(device=CPU), 1, r, quiet=True)
    assert math.isfinite(stats["train_loss"])
    assert stats["lr_end"] == lr_at(r, 0, 1)
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()) if a.dim() == 4)


@pytest.mark.parametrize("name", VARIANTS)
def test_fan_in_scaling_gives_every_conv_the_same_relative_step(name):
    """Each conv weight's rate times its init RMS is the same number (Adam moves every element by
    about the rate, and behind BatchNorm only the direction matters); everything else keeps lr."""
    r = get_recipe("default", lr_scaling="fan_in", size=32, batch_size=2)
    model = build_model(name, r, seed=0, device=CPU, channels_last=False)
    optimizer = make_optimizer(model, r)
    rate = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    assert len(rate) == len(list(model.parameters()))  # every parameter in exactly one group
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    relative = [rate[id(c.weight)] / math.sqrt(REFERENCE_FAN_IN / c.weight[0].numel()) for c in convs]
    assert relative == pytest.approx([r.lr] * len(convs))
    fan_ins = {c.weight[0].numel() for c in convs}
    assert len({rate[id(c.weight)] for c in convs}) == len(fan_ins) > 1  # the rates do differ by fan-in
    conv_weights = {id(c.weight) for c in convs}
    assert all(lr == r.lr for p, lr in rate.items() if p not in conv_weights)
    # The schedule drives every group: after a step each group's rate is the schedule's times its scale.
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    masks = torch.randint(0, 3, (2, 32, 32), dtype=torch.uint8)
    loader = torch.utils.data.DataLoader(PetTensors(images, masks), batch_size=2)
    train_one_epoch(model, optimizer, loader, Context(device=CPU), 1, r, quiet=True)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx(
        [lr_at(r, 0, 1) * g["lr_scale"] for g in optimizer.param_groups])


def test_as_replaced_rates_leave_the_regular_net_alone_and_give_each_dsc_conv_its_replaced_convs_step():
    r = get_recipe("default", lr_scaling="as_replaced", size=32, batch_size=2)
    regular = make_optimizer(build_model("segnet_regular", r, 0, CPU, False), r).param_groups
    assert [(g["lr"], g["lr_scale"]) for g in regular] == [(r.lr, 1.0)]  # the same optimizer as "none"
    model = build_model("segnet_dsc", r, 0, CPU, False)
    rate = {id(p): g["lr"] for g in make_optimizer(model, r).param_groups for p in g["params"]}
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    pointwise = [c for c in convs if c.kernel_size == (1, 1)]
    depthwise = [c for c in convs if c.groups > 1]
    assert pointwise and depthwise and len(pointwise) + len(depthwise) == len(convs)
    assert all(rate[id(c.weight)] == pytest.approx(3 * r.lr) for c in pointwise)  # sqrt(3 * 3)
    assert all(rate[id(c.weight)] == pytest.approx(math.sqrt(c.in_channels) * r.lr) for c in depthwise)
    # The relative step, rate / init RMS ~ rate * sqrt(fan-in), is a dense 3x3 conv's over the same inputs.
    for c in convs:
        assert rate[id(c.weight)] * math.sqrt(c.weight[0].numel()) == pytest.approx(r.lr * math.sqrt(9 * c.in_channels))


def test_without_scaling_one_group_at_the_recipes_rate():
    r = get_recipe("default")
    groups = make_optimizer(build_model("segnet_dsc", r, 0, CPU, False), r).param_groups
    assert [(g["lr"], g["lr_scale"]) for g in groups] == [(r.lr, 1.0)]


def test_strong_augmentation_moves_image_and_mask_together_and_marks_padding():
    image = torch.zeros(1, 3, 64, 64, dtype=torch.uint8)
    image[0, :, :, :32] = 255  # left half white = the "pet"
    mask = torch.ones(1, 64, 64, dtype=torch.uint8)
    mask[0, :, :32] = 0
    torch.manual_seed(3)
    data = PetTensors(image, mask, train_augment("strong", 64))
    for _ in range(20):
        x, y = data[0]
        assert x.shape == (3, 64, 64) and y.shape == (64, 64)
        assert set(y.unique().tolist()) <= {0, 1, 255}
        inside = y != 255
        # where the mask says pet the image is bright, elsewhere dark (jitter aside)
        assert (x[0][inside & (y == 0)] > 0.5).float().mean() > 0.9
        assert (x[0][inside & (y == 1)] < 0.5).float().mean() > 0.9


def test_warmup_then_cosine_schedule():
    r = get_recipe("default", epochs=10, warmup_epochs=2, lr=1e-3)
    steps = 5
    assert lr_at(r, 0, steps) == pytest.approx(1e-4)  # first of 10 warm-up steps
    assert lr_at(r, 9, steps) == pytest.approx(1e-3)  # warm-up ends at the peak
    assert lr_at(r, 10 + 20, steps) == pytest.approx(0.5e-3)  # half way through the cosine
    assert lr_at(r, 49, steps) < 2e-6 and lr_at(r, 60, steps) == 0.0
    seed = get_recipe("seed")
    assert {lr_at(seed, s, 7) for s in range(0, 200, 13)} == {1e-3}


def test_flags_override_single_fields_and_the_rest_stay():
    r = get_recipe("seed", lr=3e-4, epochs=None)
    assert r.lr == 3e-4 and r.epochs == 20 and r.optimizer == "adam"


@pytest.mark.parametrize("field, value, words", [
    ("lr", -1e-3, "lr=-0.001 must be a positive number"),
    ("lr", float("nan"), "lr=nan must be a positive number"),
    ("epochs", 0, "epochs=0 must be at least 1"),
    ("batch_size", 0, "batch_size=0 must be at least 1"),
    ("weight_decay", -0.1, "weight_decay=-0.1 must be zero or positive"),
    ("size", 100, "size=100 must be a multiple of 16"),
    ("optimizer", "sgd", "optimizer='sgd' is not one of adam, adamw"),
    ("lr_scaling", "fan_out", "lr_scaling='fan_out' is not one of none, fan_in, as_replaced"),
])
def test_nonsensical_fields_are_refused(field, value, words):
    with pytest.raises(RecipeError, match=words.replace("(", r"\(").replace(".", r"\.")):
        get_recipe("default", **{field: value})


@pytest.fixture(scope="module")
def pets(tmp_path_factory):
    return make_oxford_layout(tmp_path_factory.mktemp("pets"), trainval=6, test=3)


def run(root, out, *extra):
    argv = ["--data-root", str(root), "--out", str(out), "--cache-dir", str(out / "cache"), "--size", "32",
            "--quiet", "--model", "segnet_dsc", *extra]
    return train.main(train.get_args_parser().parse_args(argv))


def test_unknown_recipe_is_one_line_naming_the_known_ones(pets, tmp_path, capsys):
    assert run(pets, tmp_path, "--recipe", "fastest") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: unknown recipe 'fastest'; known recipes: seed, default"]


@pytest.mark.parametrize("flags, words", [
    (["--lr", "-0.01"], "lr=-0.01 must be a positive number"),
    (["--epochs", "0"], "epochs=0 must be at least 1"),
    (["--batch-size", "64"], "batch_size=64 is larger than the 5 training images; use at most 5"),
])
def test_bad_overrides_stop_before_any_training(pets, tmp_path, capsys, flags, words):
    assert run(pets, tmp_path, *flags) == 2
    assert words in capsys.readouterr().err
    assert not list(tmp_path.glob("segnet_*")), "nothing was trained or written"


def test_resume_with_another_recipe_is_refused_before_training(pets, tmp_path, capsys):
    assert run(pets, tmp_path, "--epochs", "1", "--batch-size", "2") == 0
    written = paths(tmp_path, "segnet_dsc")["weights"].read_bytes()
    capsys.readouterr()
    assert run(pets, tmp_path, "--epochs", "1", "--batch-size", "2", "--lr-scaling", "fan_in", "--resume") == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: segnet_dsc in {tmp_path} was trained with lr_scaling 'none', which this command changes; "
        "resume with the run's recipe and flags, or train afresh in another --out"]
    assert paths(tmp_path, "segnet_dsc")["weights"].read_bytes() == written, "the run was left as it was"
    assert run(pets, tmp_path, "--epochs", "1", "--batch-size", "2", "--resume") == 0  # the same flags: fine


def test_training_subsets_are_nested_and_leave_validation_alone():
    train_idx, val_idx = validation_split([f"breed_{i}" for i in range(381)])
    small, large = training_subset(train_idx, 80), training_subset(train_idx, 160)
    assert len(small) == 80 and len(large) == 160 and set(small) < set(large) < set(train_idx)
    assert training_subset(train_idx, 305) == train_idx
    assert training_subset(train_idx, 80) == small  # seeded: the same every run
    with pytest.raises(ValueError, match="the training split has 305 images; use 1 to 305"):
        training_subset(train_idx, 306)


def test_a_run_trains_on_its_subset_and_resume_keeps_it(pets, tmp_path, capsys):
    assert run(pets, tmp_path, "--epochs", "1", "--batch-size", "2", "--train-images", "3") == 0
    meta = read_meta(paths(tmp_path, "segnet_dsc")["weights"])
    assert meta["training"]["train_images"] == 3 and meta["data"]["split_sizes"]["train"] == 3
    capsys.readouterr()
    assert run(pets, tmp_path, "--epochs", "1", "--batch-size", "2", "--resume") == 2
    assert "was trained with train_images 3, which this command changes" in capsys.readouterr().err


CPUINFO = "processor\t: 0\nmodel name\t: AMD EPYC 9B14\nflags\t\t: fpu sse2 avx512f {extra}\n"


@pytest.mark.parametrize("extra, native", [
    ("avx512_bf16", True),  # Zen 4, Cooper Lake
    ("amx_bf16 amx_tile", True),  # Sapphire Rapids
    ("avx512_vnni", False),  # Ice Lake: oneDNN says "supported" but emulates bf16
    ("", False),
])
def test_native_bf16_is_read_from_the_cpu_flags(extra, native):
    flags = cpu_flags(CPUINFO.format(extra=extra))
    assert "avx512f" in flags
    assert bf16_autocast_helps(CPU, flags) is native
    assert cpu_name(CPUINFO) == "AMD EPYC 9B14"


def test_no_bf16_autocast_where_there_is_no_cpuinfo_or_on_mps():
    assert cpu_flags("") == frozenset()
    assert bf16_autocast_helps(CPU, frozenset()) is False
    assert bf16_autocast_helps(torch.device("mps"), frozenset({"avx512_bf16"})) is False
