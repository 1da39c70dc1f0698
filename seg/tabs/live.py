"""The Live tab: the webcam through both models side by side, and a clip raced frame by frame."""

from __future__ import annotations

import gradio as gr
import numpy as np
from PIL import Image

from seg.model.variants import PAIR, VARIANTS, titles
from seg.serve.models import Models
from seg.serve.outputs import OutputDir
from seg.serve.race import CAMERA_FPS, FREE_RUNNING, LIVE_MAX_SIDE, MODES, SAME_FRAMES, Race, race_clip, readout, step
from seg.serve.video import MAX_BYTES, MAX_SECONDS, VideoError, open_clip, shrink, write_video
from seg.tabs.charts import frame_times_figure
from seg.tabs.common import disk_full_is_a_message, gpu

STREAM_EVERY_S, STREAM_LIMIT_S = 1 / CAMERA_FPS, 120  # a session streams 2 minutes at most
MAX_FRAME_VALUES = 4096 * 4096 * 4  # a camera frame larger than this is skipped unread
INTRO = (f"Your webcam's frames go through both models. **{SAME_FRAMES}**: both run on every frame and each "
         f"shows the rate it would have alone. **{FREE_RUNNING}**: each takes the newest frame once its last one "
         "is done, so the slower one drops frames. The clip race below needs no camera.")
# Run in the visitor's browser when the page loads: the camera is theirs, so only the page can tell.
CAMERA_CHECK = """async () => {
  const tail = " The clip race below needs no camera.";
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices)
    return "⚠️ This browser gives the page no camera access (it needs https or localhost)." + tail;
  const devices = await navigator.mediaDevices.enumerateDevices();
  if (!devices.some((d) => d.kind === "videoinput")) return "⚠️ No camera found on this device." + tail;
  try {
    const state = (await navigator.permissions.query({ name: "camera" })).state;
    if (state === "denied")
      return "⚠️ Camera permission is denied for this page: allow it in the browser's site settings." + tail;
  } catch (err) {}
  return "";
}"""


def camera_image(frame) -> Image.Image | str:
    """A streamed frame as RGB at most LIVE_MAX_SIDE, or why it cannot be one. Frames may change
    size mid-stream (a rotated phone, another camera): each is taken as it comes."""
    array = np.asarray(frame)
    if array.dtype == object or array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        return f"A camera frame of shape {array.shape} was skipped: not an image."
    if min(array.shape[:2]) < 1 or array.size > MAX_FRAME_VALUES:
        return f"A camera frame of {array.shape[1]}×{array.shape[0]} was skipped: empty or too large."
    if array.dtype != np.uint8:
        array = np.clip(np.nan_to_num(array.astype(np.float64)), 0, 255).astype(np.uint8)
    grey = array.ndim == 3 and array.shape[2] == 1
    return shrink(Image.fromarray(array.squeeze(2) if grey else array), LIVE_MAX_SIDE)


class LiveTab:
    def __init__(self, models: Models, output_ttl_s: float = 900):
        self.models = models
        self.output_dir = OutputDir(output_ttl_s)

    def check_models(self):
        missing = self.models.unavailable(PAIR)
        if missing:
            raise gr.Error(" ".join(missing.values()))

    def live(self, frame, mode: str, race: Race | None):
        """One webcam frame: both overlays (the due models' fresh ones), the readout, the race."""
        if frame is None:
            return gr.skip(), gr.skip(), gr.skip(), race
        self.check_models()
        if race is None or race.mode != mode:
            race = Race(mode if mode in MODES else SAME_FRAMES)
        image = camera_image(frame)
        if isinstance(image, str):  # a frame the page sent that cannot be read: skipped, the stream goes on
            return gr.skip(), gr.skip(), readout(race, titles()) + f"\n\n⚠️ {image}", race
        try:
            step(self.models, image, race, race.arrived / CAMERA_FPS)  # the camera's clock, not the wall's
        except RuntimeError as err:  # this frame's failure; the stream goes on
            raise gr.Error(f"The models could not run on this frame ({err}).") from None
        overlays = [race.lanes[n].overlay for n in PAIR]
        return *overlays, readout(race, titles()), race

    @disk_full_is_a_message
    def race_video(self, path, progress=gr.Progress()):
        """A clip through both models on every frame: the side-by-side video, per-frame ms, a summary."""
        self.check_models()
        race = Race(SAME_FRAMES)
        try:
            clip = open_clip(path)
            shown = race_clip(self.models, clip.frames(), clip.fps, titles(), race, progress, clip.expected_frames)
            out = write_video(shown, clip.fps, self.output_dir.new() / "race.mp4")  # nothing written on an error
        except VideoError as err:
            raise gr.Error(str(err)) from None
        except RuntimeError as err:  # a model failed on a frame: the run is off, nothing was kept
            raise gr.Error(f"The models could not run on this clip ({err}).") from None
        ms = {name: lane.ms for name, lane in race.lanes.items()}
        count = len(next(iter(ms.values())))
        lines = [f"{count} frames at {clip.fps:g} frames/s ({count / clip.fps:.1f} s)."]
        lines += [f"- **{VARIANTS[n].title}**: {np.mean(v):.1f} ms per frame (median {np.median(v):.1f}), "
                  f"{1000 / np.mean(v):.1f} frames/s alone" for n, v in ms.items()]
        return str(out), frame_times_figure(ms, titles()), "\n".join(lines)

    def render(self) -> gr.Markdown:
        """The tab; returns the camera-status line for app.py to fill when the page loads."""
        gr.Markdown(INTRO)
        camera_status = gr.Markdown(elem_id="camera-status")
        mode = gr.Radio(list(MODES), value=SAME_FRAMES, label="Race")
        with gr.Row():
            camera = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Your webcam", height=300)
            overlays = [gr.Image(label=VARIANTS[n].title, type="numpy", format="jpeg", interactive=False,
                                 elem_id=f"live-{n}") for n in PAIR]
        figures = gr.Markdown(elem_id="live-readout")
        race = gr.State()
        camera.stream(self.live, [camera, mode, race], [*overlays, figures, race], stream_every=STREAM_EVERY_S,
                      time_limit=STREAM_LIMIT_S, concurrency_limit=1, concurrency_id="models",
                      api_visibility="private", show_progress="hidden")
        gr.Markdown(f"### A clip, frame by frame\nUp to {MAX_SECONDS} s and {MAX_BYTES // 1_000_000} MB; both "
                    "models run on every frame and the video comes back side by side with each one's rate.")
        with gr.Row():
            clip = gr.Video(sources=["upload"], label="Your clip")
            raced = gr.Video(label="Regular | DSC", interactive=False)
        run = gr.Button("Race both models on this clip", variant="primary")
        with gr.Row():
            timings = gr.Plot(show_label=False)
            summary = gr.Markdown()
        run.click(gpu(self.race_video), clip, [raced, timings, summary], concurrency_limit=1,
                  concurrency_id="models", api_name="race_video")
        return camera_status
