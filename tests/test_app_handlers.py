"""The app's handlers as plain functions: no server, no browser."""

from __future__ import annotations

import threading

import gradio as gr
import numpy as np
import pytest
import torch
from conftest import logits_of
from gradio import Error as GradioError
from PIL import Image

from seg.serve.models import Models
from seg.serve.overlay import COLOURS, blend
from seg.tabs import cost as calculator
from seg.tabs import segment
from seg.tabs.segment import SegmentTab

SEED_STACK_PARAMS = ["73,728", "294,912", "1,179,648", "4,718,592"]


@pytest.fixture(scope="module")
def models(tiny_checkpoints):
    return Models(tiny_checkpoints)


@pytest.fixture(scope="module")
def demo(models):
    return SegmentTab(models)


@pytest.fixture
def photo_path(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 255, (90, 130, 3), dtype=np.uint8)).save(path)
    return path


def test_blend_paints_legend_colours_at_the_given_opacity():
    photo = Image.new("RGB", (3, 1), (10, 20, 30))
    mask = np.array([[0, 1, 2]], dtype=np.uint8)
    assert np.array_equal(np.asarray(blend(photo, mask, 1.0))[0], COLOURS)
    assert np.array_equal(np.asarray(blend(photo, mask, 0.0)), np.asarray(photo))
    half = np.asarray(blend(photo, mask, 0.5))[0, 0]
    assert np.array_equal(half, np.round((np.array([10, 20, 30]) + COLOURS[0]) / 2))


def test_segment_returns_overlays_and_full_size_masks(demo, photo_path):
    result = demo.segment(str(photo_path), 0.5)
    for overlay in result.overlays.values():
        assert Image.open(overlay).size == (130, 90) and Image.open(overlay).format == "JPEG"
    for mask in result.masks.values():
        img = Image.open(mask)
        assert img.size == (130, 90) and img.mode == "P"
        assert set(np.unique(np.asarray(img))) <= {0, 1, 2}
    assert set(result.summary["models"]) == {"segnet_regular", "segnet_dsc"}
    assert 0 <= result.summary["agreement"]["pet_iou"] <= 1 and "parameters" in result.stats
    assert result.state["photo"].shape == (90, 130, 3)
    assert result.outputs() == (*result.overlays.values(), *result.masks.values(), result.stats,
                                result.summary, result.state)  # the order /segment answers in


def with_known_runs(demo, monkeypatch, ms=(12.5, 4.0)):
    """Model runs with known answers: regular says all pet, DSC pet on the left half only."""
    pet, half = torch.zeros(64, 64, dtype=torch.uint8), torch.ones(64, 64, dtype=torch.uint8)
    half[:, :32] = 0
    monkeypatch.setattr(demo.models, "segment", lambda photo, names=None: {
        "segnet_regular": {"mask": pet, "logits": logits_of(pet), "ms": ms[0]},
        "segnet_dsc": {"mask": half, "logits": logits_of(half), "ms": ms[1]}})


def test_reported_numbers_are_the_model_runs_own(demo, photo_path, monkeypatch):
    """The ms shown are what the model call measured; the agreement is of the masks it gave."""
    with_known_runs(demo, monkeypatch)
    result = demo.segment(str(photo_path), 0.5)
    assert [m["ms"] for m in result.summary["models"].values()] == [12.5, 4.0]
    assert "| 12.5 ms | 4.0 ms | 3.1× |" in result.stats
    assert result.summary["agreement"] == {"pixel_agreement": 0.5, "pet_iou": 0.5}
    masks = [np.asarray(Image.open(p)) for p in result.masks.values()]
    assert (masks[0] == 0).all() and (masks[1][:, :65] == 0).all() and (masks[1][:, 65:] == 1).all()


def test_big_photos_are_shown_small_but_masks_keep_the_photo_size(demo, tmp_path):
    path = tmp_path / "big.jpg"
    Image.new("RGB", (2000, 1500), (120, 80, 40)).save(path)
    result = demo.segment(str(path), 0.5)
    assert Image.open(result.overlays["segnet_regular"]).size == (1024, 768)
    assert Image.open(result.masks["segnet_regular"]).size == (2000, 1500)


def test_reblend_uses_the_kept_masks_without_running_models(demo, monkeypatch):
    stripes = (np.arange(80)[None, :] // 16 % 3).repeat(60, axis=0).astype(np.uint8)  # classes 0 1 2 0 1
    state = {"photo": np.zeros((60, 80, 3), np.uint8),
             "masks": {"segnet_regular": stripes, "segnet_dsc": np.full_like(stripes, 1)}}
    monkeypatch.setattr(demo.models, "segment", lambda *a: pytest.fail("models ran again"))
    for path, mask in zip(demo.reblend(state, 1.0), state["masks"].values()):
        painted = np.asarray(Image.open(path)).astype(int)
        # A JPEG for display: the legend colours, off by a few levels next to the stripes' edges.
        assert (np.abs(painted - COLOURS[mask].astype(int)).max(axis=-1) <= 32).mean() > 0.97


def test_compare_shows_both_overlays_and_paints_exactly_the_disagreeing_pixels(demo, photo_path, monkeypatch):
    with_known_runs(demo, monkeypatch)
    result = demo.segment(str(photo_path), 0.5)
    pair, disagreement, caption = demo.compare(result.state, *result.overlays.values())
    assert pair == tuple(result.overlays.values())
    painted = np.asarray(Image.open(disagreement))
    differ = np.all(painted == segment.DISAGREE, axis=-1)
    assert np.array_equal(differ, result.state["masks"]["segnet_regular"] != result.state["masks"]["segnet_dsc"])
    assert differ[:, 65:].all() and not differ[:, :65].any()
    assert "50.0% of the pixels" in caption
    assert demo.compare(None, None, None) == (gr.skip(),) * 3  # nothing segmented yet: nothing changes


def test_no_image_asks_for_one(demo):
    with pytest.raises(GradioError, match="upload a photo"):
        demo.segment(None, 0.5)


def test_an_upload_deleted_before_its_turn_says_it_expired(demo, tmp_path):
    with pytest.raises(GradioError, match="That upload has expired: please upload the photo again"):
        demo.segment(str(tmp_path / "gone.jpg"), 0.5)


def test_unreadable_file_says_it_is_not_an_image(demo, tmp_path):
    bogus = tmp_path / "notes.jpg"
    bogus.write_text("this is not a picture")
    with pytest.raises(GradioError, match="not an image the app can read"):
        demo.segment(str(bogus), 0.5)


def test_missing_checkpoints_name_the_file_and_the_command(tmp_path, photo_path):
    demo = SegmentTab(Models(tmp_path))
    assert "segnet_regular.safetensors" in demo.status_markdown()
    assert "python train.py --model segnet_dsc" in demo.status_markdown()
    with pytest.raises(GradioError, match="python train.py --model segnet_regular"):
        demo.segment(str(photo_path), 0.5)


def test_cost_view_defaults_show_the_seed_figure_4():
    view = calculator.cost_view(128, 3, 64, 4, calculator.DEFAULT_DSC_BLOCKS)
    params_fig, macs_fig, ratio_fig = view.params_figure, view.mult_adds_figure, view.ratio_figure
    table, segnet_rows, totals = view.stack_table, view.segnet_table, view.segnet_totals
    assert [row[3] for row in table[:4]] == SEED_STACK_PARAMS
    assert list(params_fig.data[0].y) == [73_728, 294_912, 1_179_648, 4_718_592]
    assert list(params_fig.data[1].y) == [8_768, 33_920, 133_376, 528_896]
    assert macs_fig.layout.yaxis.type == "log"
    assert list(ratio_fig.data[0].y) == pytest.approx([1 / 128 + 1 / 9, 1 / 256 + 1 / 9, 1 / 512 + 1 / 9, 1 / 1024 + 1 / 9])
    assert "15.27M" in totals and "1.75M" in totals
    assert [r[1] for r in segnet_rows[1:]] == ["regular", "regular", "dsc", "dsc", "dsc", "dsc", "regular", "regular"]


def test_cost_view_moves_with_the_sliders():
    small = calculator.cost_view(64, 5, 16, 3, [])
    assert len(small.stack_table) == 4  # three layers and the total
    assert small.params_figure.data[0].y[0] == 25 * 16 * 32
    assert "all regular" in small.segnet_totals


def test_crosscheck_agrees_with_torchinfo():
    text = calculator.crosscheck(48, 3, 8, 3, ["enc1", "dec1"])
    assert text.count("✅") == 3 and "❌" not in text


def test_measure_scaling_times_both_models_at_four_sizes(models):
    figure, table = calculator.measure_scaling(models)
    measured, theory = figure.data[1], figure.data[0]
    assert list(measured.x) == ["64×64", "128×128", "256×256", "512×512"]
    assert all(r > 0 for r in measured.y)
    from seg.model.cost import segnet_cost
    regular, dsc = (segnet_cost(k, 256, base_channels=4)["totals"]["mult_adds"] for k in ("regular", "dsc"))
    assert theory.y[2] == pytest.approx(regular / dsc)
    assert table.count("\n") == 5


def test_every_model_run_happens_on_the_inference_thread_whoever_asks(demo, photo_path):
    ran_on = []
    models = [m for entry in demo.models.loaded.values() for m in (entry.model, entry.eager)]
    # eager: the scaling button builds its fast paths from these (deep copies keep the hook)
    hooks = [m.register_forward_pre_hook(lambda m, i: ran_on.append(threading.current_thread().name)) for m in models]
    try:
        callers = [threading.Thread(target=demo.segment, args=(str(photo_path), 0.5)) for _ in range(3)]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join(60)
        calculator.measure_scaling(demo.models)  # the cost tab's timings too
    finally:
        for hook in hooks:
            hook.remove()
    assert len(ran_on) > 3 * 2  # both models per request, then the scaling runs
    assert len(set(ran_on)) == 1 and ran_on[0].startswith(Models.THREAD_NAME), set(ran_on)


def test_a_failed_model_run_is_reported_and_the_next_request_works(tiny_checkpoints, photo_path):
    tab = SegmentTab(Models(tiny_checkpoints))
    model = tab.models.loaded["segnet_dsc"].model
    failing = model.register_forward_pre_hook(lambda m, i: (_ for _ in ()).throw(RuntimeError("out of memory")))
    with pytest.raises(GradioError, match=r"could not run on this photo \(out of memory\)"):
        tab.segment(str(photo_path), 0.5)
    failing.remove()
    assert set(tab.segment(str(photo_path), 0.5).summary["models"]) == {"segnet_regular", "segnet_dsc"}


@pytest.mark.parametrize("out_hw", [(1280, 1280), (768, 1024), (90, 130), (3072, 4096), (1, 1000), (127, 129)])
def test_mask_upsampling_gives_torch_nearest_pixels_without_torch(out_hw):
    from seg.serve.overlay import upsample_mask

    mask = torch.from_numpy(np.random.default_rng(0).integers(0, 3, (128, 96), dtype=np.uint8))
    expected = torch.nn.functional.interpolate(mask[None, None].float(), size=out_hw, mode="nearest")[0, 0]
    assert np.array_equal(upsample_mask(mask, out_hw[::-1]), expected.to(torch.uint8).numpy())


@pytest.mark.parametrize("out_hw", [(1280, 1280), (768, 1024), (90, 130), (500, 333), (1, 1000), (127, 129)])
def test_masks_at_photo_size_are_torch_bilinear_logits_then_argmax(out_hw):
    from seg.serve.overlay import upsample_logits

    logits = torch.randn(3, 128, 96, generator=torch.Generator().manual_seed(0))
    expected = torch.nn.functional.interpolate(logits[None], size=out_hw, mode="bilinear", align_corners=False)
    assert np.array_equal(upsample_logits(logits.numpy(), out_hw[::-1]), expected[0].argmax(0).numpy())


def test_the_photo_size_mask_follows_the_logits_not_the_label_staircase():
    """A diagonal edge: nearest-upsampled labels step in 8-pixel stairs, the logits' edge does not."""
    from seg.serve.overlay import upsample_logits, upsample_mask

    yy, xx = np.mgrid[0:16, 0:16].astype(np.float32)
    margin = (xx - yy) + 0.5  # pet where x >= y
    logits = np.stack([margin, -margin, np.full_like(margin, -99)])
    smooth, stairs = upsample_logits(logits, (128, 128)), upsample_mask(logits.argmax(0), (128, 128))
    rows, cols = np.mgrid[0:128, 0:128]
    # The same line 8x finer: coarse pixel i is centred on fine (i + 0.5) * 8 - 0.5, so the margin's
    # zero, x - y = -0.5 coarse, is x - y = -4 fine.
    truth = np.where(cols - rows >= -4, 0, 1)
    assert (smooth != truth).sum() < 32 < 150 < (stairs != truth).sum()  # 12 (the clamped corners) vs 246


def test_the_deploy_table_shows_each_pair_with_its_ratios_and_int8_cost(tmp_path):
    from seg.reports.deploy import table_markdown
    from seg.tabs.deploy import saved_table

    def row(model, runtime, precision, mb, ms, acc):
        return {"model": model, "runtime": runtime, "precision": precision, "bytes": mb * 1e6,
                "latency_ms": {"median": ms}, "pixel_accuracy": acc, "miou": acc - 0.2}

    rows = [row("segnet_regular", "pte", "fp32", 60, 100, 0.82), row("segnet_dsc", "pte", "fp32", 7.5, 40, 0.83),
            row("segnet_regular", "pte", "int8", 15, 50, 0.81), row("segnet_dsc", "pte", "int8", 2, 25, 0.8275)]
    table = table_markdown(rows)
    assert "| ExecuTorch + XNNPACK | fp32 | 60.0 / 7.50 (8.0×) | 100.0 / 40.0 (2.5×) | 82.00% / 83.00% |" in table
    assert "| ExecuTorch + XNNPACK | int8 | 15.0 / 2.00 (7.5×) | 50.0 / 25.0 (2.0×) |" in table
    assert "Regular SegNet, ExecuTorch + XNNPACK: +1.00 points" in table
    assert "DSC SegNet, ExecuTorch + XNNPACK: +0.25 points" in table  # fp32 − int8
    assert "No benchmark table yet" in saved_table(tmp_path / "absent.json")
