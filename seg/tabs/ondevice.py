"""The "On your device" tab: both SegNets run in the visitor's browser. The page itself, its
files and its routes live in seg/assets/ondevice/ and seg/deploy/browser.py; the tab frames it."""

from __future__ import annotations

import gradio as gr

from seg.deploy.browser import PREFIX

INTRO = """**Your device is the edge device.** This tab downloads both SegNets as ONNX files and runs them
**in your browser** with ONNX Runtime Web: the bytes each model costs you, the time to its first mask
and the milliseconds per run are your device's, not the server's. **The photo (or camera) stays on your
device**: nothing is uploaded. Also on a page of its own: [ondevice/](ondevice/)."""


def render():
    gr.Markdown(INTRO)
    # A frame of the app's own origin: the page runs its own scripts (onnxruntime-web) and asks for
    # the camera itself, which Gradio's components do not let a page do.
    gr.HTML(f'<iframe src="{PREFIX.lstrip("/")}/" title="Both models on your device" allow="camera" '
            'style="width:100%;height:1150px;border:0"></iframe>')
