"""The Training tab: curves from the checkpoints' metadata, predictions replayed by epoch; its layout."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from seg.data.pets import default_data_root, normalise_root
from seg.files import SAMPLE_PHOTO
from seg.model.checkpoint import CHECKPOINT_DIR, load_snapshots, paths
from seg.model.variants import VARIANTS, article_figures, titles
from seg.reports import learning_curve
from seg.scoring.groups import groups_markdown
from seg.serve.outputs import OutputDir
from seg.serve.overlay import COLOURS
from seg.serve.photos import load_photo
from seg.tabs.charts import history_figures, learning_curve_figure
from seg.train.recipes import ARTICLE_TRAIN_IMAGES

GAP = 4  # px between tiles
SAMPLE_ZOOM = 3  # the sample replay, 128 px per tile at training size, shown 384 px a tile
TRAINING_KEYS = {"history", "final", "snapshots", "input_size", "data", "epochs_done", "wall_time_s", "device",
                 "recipe", "training"}


class TrainingRecord:
    """What the shipped checkpoints remember of their training, read once at start-up."""

    def __init__(self, checkpoint_dir=CHECKPOINT_DIR, data_root=None, run=lambda fn, *args: fn(*args),
                 curve_path=learning_curve.PATH):
        # `run`: the app passes Models.run, so the torch work here (decoding and resizing the
        # replay's pictures) happens on the inference thread. On any other thread it would start
        # an OpenMP team that slows every later model run (DSC 11 -> 16-19 ms from one resize).
        self._run = run
        self._replay_files: dict[int, tuple[str | None, str | None]] = {}  # epoch: its two PNGs, once written
        self._replay_lock = threading.Lock()
        self._replay_folder: Path | None = None  # made on first use: a record read for its numbers writes nothing
        self.curve = learning_curve.load(curve_path)  # `python -m seg.learning_curve` writes it where the runs are
        self.metas, self.snapshots, self.samples = {}, {}, {}
        for name in VARIANTS:
            files = paths(checkpoint_dir, name)
            try:
                meta = json.loads(files["meta"].read_text())
                weights = files["weights"]
                snapshots, samples = load_snapshots(weights), load_snapshots(weights, "sample")
            except (OSError, ValueError, KeyError):
                continue  # the Segment tab names missing files; here they simply do not plot
            if isinstance(meta, dict) and TRAINING_KEYS <= meta.keys():
                self.metas[name], self.snapshots[name], self.samples[name] = meta, snapshots, samples
        self._data_root, self._pictures, self._pictures_lock = data_root, None, threading.Lock()

    def pictures(self) -> tuple:
        """(validation photos, their trimaps, the sample photo as the models saw it), decoded on first
        use, not at start-up: decoding needs torch, which the app's page does not wait for."""
        with self._pictures_lock:
            if self._pictures is None:
                self._pictures = self._run(self._decode_pictures)  # one trip to the inference thread
            return self._pictures

    def _decode_pictures(self) -> tuple:
        return (*self._snapshot_images(), self._sample_photo())

    @property
    def photos(self):
        return self.pictures()[0]

    @property
    def truths(self):
        return self.pictures()[1]

    @property
    def sample_photo(self):
        return self.pictures()[2]

    @property
    def epochs(self) -> int:
        counts = [len(s) for s in self.snapshots.values() if s is not None]
        return min(counts) if counts else 0

    def snapshot_files(self) -> list[tuple[Path, Path]]:
        """(photo, trimap) of each fixed validation image the snapshots hold, in the dataset's layout."""
        meta = next(iter(self.metas.values()), None)
        if meta is None:
            return []
        base = normalise_root(self._data_root or default_data_root()) / "oxford-iiit-pet"
        return [(base / "images" / f"{i}.jpg", base / "annotations" / "trimaps" / f"{i}.png")
                for i in meta["snapshots"]["image_ids"]]

    def _snapshot_images(self):
        """The fixed validation images and their trimaps, where the dataset is on this machine."""
        from seg.data.decode import decode_files

        files = self.snapshot_files()
        if not files:
            return None, None
        size, photos, truths = next(iter(self.metas.values()))["input_size"], [], []
        for photo, trimap in files:
            try:
                image, mask = decode_files(photo, trimap, size)
            except OSError:
                return None, None  # no dataset here (e.g. on Spaces): show the masks alone
            photos.append(image.permute(1, 2, 0).numpy())
            truths.append(mask.numpy())
        return photos, truths

    def _sample_photo(self):
        """The bundled sample photo as the models saw it (squeezed to the training size)."""
        meta = next(iter(self.metas.values()), None)
        if meta is None or not any(s is not None for s in self.samples.values()):
            return None
        import torch

        from seg.data.decode import to_input

        x = to_input(load_photo(SAMPLE_PHOTO), meta["input_size"])[0]
        return (x * 255).round().to(dtype=torch.uint8).permute(1, 2, 0).numpy()

    def figures(self):
        return history_figures({n: m["history"] for n, m in self.metas.items()}, titles())

    def curve_figure(self):
        return learning_curve_figure(self.curve, titles(), article_figures(), ARTICLE_TRAIN_IMAGES)

    def curve_caption(self) -> str:
        """What the learning curve says about the floor, in the file's own numbers."""
        said = []
        for model, fit in self.curve["fits"].items():
            need = fit["images_for_floor"]
            said.append(f"**{VARIANTS[model].title}**: {fit['gain_per_doubling'] * 100:+.1f} points of validation pixel "
                        f"accuracy per doubling of the training images; its line reaches a {fit['test_floor']:.0%} "
                        f"test floor at " + (f"about **{need:,.0f}** training images" if need else "no size at all")
                        + f" (here: {max(p['images'] for p in self.curve['points'] if p['model'] == model)}); "
                        f"the line from its test figure to the article's, at about "
                        f"**{fit['images_for_floor_via_article']:,.0f}**.")
        return ("Both models trained by the same recipe on fewer images, with the same number of optimizer "
                f"steps. Each point is one run scored on {validation_count(self.curve)} validation images, so the "
                "dashed lines are a rough guide; the stars are the article's test figures on "
                "the full dataset, with its own recipe.\n\n" + "\n\n".join(said)
                + f"\n\nFrom `{self.curve['command']}`.")

    def final_table(self) -> list[list]:
        rows = []
        for name, meta in self.metas.items():
            final, sizes = meta["final"] or {}, meta["data"]["split_sizes"]
            rows.append([VARIANTS[name].title, f"{final.get('pixel_accuracy', float('nan')):.2%}",
                         f"{final.get('miou', float('nan')):.2%}", article_figure(name),
                         meta["recipe"]["name"], meta["epochs_done"],
                         f"{sizes['train']} / {sizes['validation']} / {sizes.get('test', '–')}",
                         f"{meta['wall_time_s'] / 60:.0f} min on {meta['training']['cpu']}"])
        return rows

    def groups_table(self) -> str | None:
        """Test pixel accuracy by breed group (seg/scoring/groups.py), for checkpoints scored with them."""
        reports = {n: m["final"]["groups"] for n, m in self.metas.items() if (m["final"] or {}).get("groups")}
        if not reports:
            return None
        return ("Test pixel accuracy by breed group (images in brackets), with its 95% bootstrap interval over the "
                "group's images: the three dominant breeds hold most of the test set.\n\n"
                + groups_markdown(reports, label=titles().get))

    def test_images(self) -> str:
        counts = {(m["final"] or {}).get("images") for m in self.metas.values()} - {None}
        return f"all {counts.pop()}" if len(counts) == 1 else "all"

    def replay(self, epoch) -> Image.Image | None:
        """One grid: a column per test image; rows photo, ground truth, then each model's mask."""
        if not self.epochs:
            return None
        epoch = min(max(int(epoch), 1), self.epochs)
        rows = []
        if self.photos is not None:
            rows += [self.photos, [blend_tile(p, t) for p, t in zip(self.photos, self.truths)]]
        for name in VARIANTS:
            if self.snapshots.get(name) is not None:
                masks = self.snapshots[name][epoch - 1]
                tiles = [blend_tile(p, m) for p, m in zip(self.photos, masks)] if self.photos else COLOURS[masks]
                rows.append(list(tiles))
        return Image.fromarray(grid(rows))

    def replay_sample(self, epoch) -> Image.Image | None:
        """The sample photo, then each model's mask of it at that epoch: a real picture even
        where the dataset is absent (on Spaces, for everyone)."""
        kept = [name for name in VARIANTS if self.samples.get(name) is not None]
        if self.sample_photo is None or not kept:
            return None
        epoch = min(max(int(epoch), 1), min(len(self.samples[n]) for n in kept))
        tiles = [self.sample_photo] + [blend_tile(self.sample_photo, self.samples[n][epoch - 1]) for n in kept]
        # Nearest-neighbour upscaling: each of the model's pixels a crisp block, not a blur.
        return Image.fromarray(grid([[upscale(t, SAMPLE_ZOOM) for t in tiles]]))

    def replay_files(self, epoch) -> tuple[str | None, str | None]:
        """Both pictures as PNG files for Gradio, which would otherwise encode them at PIL's default
        level: 0.7 s for the grid against 0.1 s at zlib level 1 (9% larger: most of the grid is
        photo, which compresses little either way). Each epoch's are written once and kept: the
        slider's next visit to it costs nothing, and the folder holds two files per epoch at most.
        Under a lock: every page load asks for them, and two writers of one file could serve half of it."""
        epoch = int(epoch)
        with self._replay_lock:
            if epoch not in self._replay_files:
                self._replay_folder = self._replay_folder or OutputDir().new()  # deleted as the app exits
                folder = self._replay_folder
                self._replay_files[epoch] = (fast_png(self.replay(epoch), folder / f"grid-{epoch}.png"),
                                             fast_png(self.replay_sample(epoch), folder / f"sample-{epoch}.png"))
            return self._replay_files[epoch]

    def replay_caption(self) -> str:
        present = [VARIANTS[n].title for n in VARIANTS if self.snapshots.get(n) is not None]
        # Whether the files are here, not whether they decode: the caption is laid out before torch is imported.
        files = self.snapshot_files()
        here = bool(files) and all(p.exists() and t.exists() for p, t in files)
        head = "photo, ground truth, " if here else ""
        note = "" if here else " (the dataset is not on this machine: masks only)"
        return f"Validation images. Rows: {head}{', '.join(present)}{note}."

    def sample_caption(self) -> str:
        present = [VARIANTS[n].title for n in VARIANTS if self.samples.get(n) is not None]
        return f"The sample photo (CC0), then {', '.join(present)}."


def validation_count(curve: dict) -> str:
    counts = sorted({p.get("validation_images") for p in curve["points"]} - {None})
    return " or ".join(map(str, counts)) or "the"


def article_figure(name: str) -> str:
    return f"{article_figures()[name]:.2%}" if name in article_figures() else "– (not in the article)"


def upscale(tile: np.ndarray, factor: int) -> np.ndarray:
    return tile.repeat(factor, axis=0).repeat(factor, axis=1)


def blend_tile(photo: np.ndarray, mask: np.ndarray, opacity: float = 0.55) -> np.ndarray:
    return (photo * (1 - opacity) + COLOURS[mask] * opacity).round().astype(np.uint8)


def grid(rows) -> np.ndarray:
    h, w = rows[0][0].shape[:2]
    out = np.full((len(rows) * (h + GAP) - GAP, len(rows[0]) * (w + GAP) - GAP, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, tile in enumerate(row):
            out[i * (h + GAP):i * (h + GAP) + h, j * (w + GAP):j * (w + GAP) + w] = tile
    return out


def fast_png(image: Image.Image | None, path) -> str | None:
    if image is None:
        return None
    image.save(path, "png", compress_level=1)
    return str(path)


def render(record: TrainingRecord):
    if not record.metas:
        gr.Markdown("No training metadata in `checkpoints/` yet: run `python train.py --test`.")
        return
    with gr.Row():
        for fig in record.figures():
            gr.Plot(value=fig, show_label=False)
    label = (f"Test metrics ({record.test_images()} test images, evaluated once after training) next to the "
             "article's (its U-Net's: the full dataset, 100 epochs)")
    gr.Dataframe(value=record.final_table(), label=label, interactive=False,
                 headers=["model", "pixel accuracy", "mIoU", "the article's pixel accuracy", "recipe", "epochs",
                          "train / validation / test images", "training time"])
    groups = record.groups_table()
    if groups:
        gr.Markdown(groups, elem_id="training-groups")
    if record.epochs:
        gr.Markdown("### How the predictions sharpen, epoch by epoch")
        epoch = gr.Slider(1, record.epochs, value=record.epochs, step=1, label="Epoch")
        # One row each, full width: the sample's masks are large enough to see them change.
        sample = gr.Image(label=record.sample_caption(), interactive=False, elem_id="replay-sample")
        grid_image = gr.Image(label=record.replay_caption(), interactive=False)
        # Drawn as the page loads and when the slider moves (triggers None: load and change), not
        # while the app is built: the pictures need torch, which the page does not wait for.
        gr.on(None, record.replay_files, epoch, [grid_image, sample], api_visibility="private",
              show_progress="hidden", trigger_mode="always_last")
    if record.curve and record.curve.get("fits"):
        gr.Markdown("### How accuracy grows with training images")
        gr.Plot(value=record.curve_figure(), show_label=False, elem_id="learning-curve-plot")
        gr.Markdown(record.curve_caption())
