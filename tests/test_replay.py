"""The Training tab's record: curves, final table and the epoch replay, from real train.py output."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic import make_oxford_layout

import train
from seg.model.checkpoint import load_snapshots, paths
from seg.serve.overlay import COLOURS
from seg.tabs.training import GAP, SAMPLE_ZOOM, TrainingRecord

pytestmark = pytest.mark.slow

SIZE, EPOCHS = 32, 2
SHOWN = ("segnet_regular", "segnet_dsc", "segnet_dsc_deep")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The pair and a mix, two epochs, with --test: the files train.py ships, in miniature."""
    out = tmp_path_factory.mktemp("trained")
    root = make_oxford_layout(out / "pets", trainval=20, test=4)
    argv = ["--data-root", str(root), "--out", str(out), "--cache-dir", str(out / "cache"), "--size", str(SIZE),
            "--epochs", str(EPOCHS), "--batch-size", "6", "--quiet", "--test", "--model", *SHOWN]
    assert train.main(train.get_args_parser().parse_args(argv)) == 0
    return out


def test_record_reads_every_variants_curves_and_test_table(trained):
    record = TrainingRecord(trained, data_root=trained / "nowhere")
    assert record.epochs == EPOCHS and list(record.metas) == list(SHOWN)
    figures = record.figures()
    assert [fig.layout.title.text for fig in figures] == ["Validation pixel accuracy", "Validation mIoU", "Loss"]
    assert [t.name for t in figures[0].data] == [f"{t} (validation)" for t in ("Regular SegNet", "DSC SegNet",
                                                                                "Deep-DSC SegNet")]
    rows = record.final_table()
    assert [r[0] for r in rows] == ["Regular SegNet", "DSC SegNet", "Deep-DSC SegNet"]
    assert rows[2][3] == "– (not in the article)"
    assert rows[0][1] == f"{record.metas['segnet_regular']['final']['pixel_accuracy']:.2%}"
    assert rows[0][4:7] == ["default", EPOCHS, "16 / 4 / 4"]
    groups = record.groups_table()
    dsc = record.metas["segnet_dsc"]["final"]
    assert "| all (4) |" in groups and f"| DSC SegNet | {dsc['pixel_accuracy']:.2%} [" in groups
    assert record.test_images() == "all 4"


def test_history_legends_sit_below_the_axes_and_hide_no_epoch(trained):
    """Above the plot, four long names wrap into rows that cover the last epochs' points."""
    for figure in TrainingRecord(trained, data_root=trained / "nowhere").figures():
        legend = figure.layout.legend
        assert legend.yanchor == "top" and legend.y < 0, "the legend starts below the x-axis"
        assert figure.layout.margin.b >= 120, "in a margin with room for its rows"


def test_sample_replay_shows_the_photo_and_each_models_mask_of_that_epoch(trained):
    record = TrainingRecord(trained, data_root=trained / "nowhere")  # no dataset: as on Spaces
    assert record.photos is None, "the dataset is absent here"
    for epoch in range(1, EPOCHS + 1):
        tiles = np.asarray(record.replay_sample(epoch))
        big = SIZE * SAMPLE_ZOOM  # every model pixel a SAMPLE_ZOOM-square block, large enough to see
        assert tiles.shape == (big, 4 * big + 3 * GAP, 3)  # the photo, then each model
        photo = tiles[::SAMPLE_ZOOM, :big:SAMPLE_ZOOM]
        assert np.array_equal(photo, record.sample_photo)
        assert np.array_equal(tiles[:, :big], photo.repeat(SAMPLE_ZOOM, 0).repeat(SAMPLE_ZOOM, 1))
        for column, name in enumerate(SHOWN, start=1):
            mask = load_snapshots(paths(trained, name)["weights"], "sample")[epoch - 1]
            tile = tiles[::SAMPLE_ZOOM, column * (big + GAP):column * (big + GAP) + big:SAMPLE_ZOOM]
            expected = (photo * (1 - 0.55) + COLOURS[mask] * 0.55).round().astype(np.uint8)
            assert np.array_equal(tile, expected)
    assert "sample photo" in record.sample_caption()


def test_each_epochs_replay_files_are_the_pictures_written_once(trained, monkeypatch):
    from PIL import Image

    record = TrainingRecord(trained, data_root=trained / "nowhere")
    files = {epoch: record.replay_files(epoch) for epoch in range(1, EPOCHS + 1)}
    for epoch, (grid_file, sample_file) in files.items():
        assert np.array_equal(np.asarray(Image.open(grid_file)), np.asarray(record.replay(epoch)))
        assert np.array_equal(np.asarray(Image.open(sample_file)), np.asarray(record.replay_sample(epoch)))
    assert len({f for pair in files.values() for f in pair}) == 2 * EPOCHS
    monkeypatch.setattr(record, "replay", lambda epoch: pytest.fail("drawn again"))
    assert record.replay_files(float(EPOCHS)) == files[EPOCHS]  # the slider's value, as Gradio sends it


def test_page_loads_at_once_draw_each_epochs_pictures_once(trained, monkeypatch):
    """Every page load asks for the replay (the app draws it as the page loads): visitors arriving
    together get the same files, drawn once, never a file another thread is still writing."""
    import threading
    import time

    from seg.tabs import training

    record = TrainingRecord(trained, data_root=trained / "nowhere")
    written, real_png = [], training.fast_png

    def slow_png(image, path):
        written.append(path)
        time.sleep(0.05)  # a write in progress while the other loads ask
        return real_png(image, path)

    monkeypatch.setattr(training, "fast_png", slow_png)
    answers = []
    loads = [threading.Thread(target=lambda: answers.append(record.replay_files(EPOCHS))) for _ in range(4)]
    for load in loads:
        load.start()
    for load in loads:
        load.join()
    assert len(answers) == 4 and len(set(answers)) == 1 and len(written) == 2


def test_validation_replay_without_the_dataset_shows_masks_only(trained):
    record = TrainingRecord(trained, data_root=trained / "nowhere")
    grid = np.asarray(record.replay(1))
    masks = load_snapshots(paths(trained, "segnet_dsc")["weights"])[0]
    assert grid.shape == (3 * SIZE + 2 * GAP, len(masks) * (SIZE + GAP) - GAP, 3)  # a row per model
    assert np.array_equal(grid[SIZE + GAP:2 * SIZE + GAP, :SIZE], COLOURS[masks[0]])  # DSC: the second row
    assert "masks only" in record.replay_caption()


def test_validation_replay_with_the_dataset_adds_photo_and_ground_truth(trained):
    record = TrainingRecord(trained, data_root=trained / "pets")
    assert record.photos is not None and len(record.photos) == 4
    assert np.asarray(record.replay(EPOCHS)).shape[0] == 5 * SIZE + 4 * GAP  # photo, truth, three models
    assert record.replay_caption().startswith("Validation images. Rows: photo, ground truth")
