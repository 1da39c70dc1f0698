"""The Deploy tab: what DSC buys on the edge (the table of results/deploy.json), and
each model as a file to take away, built on first request and cached on disk."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from seg.deploy.targets import EXPORT_DIR, FORMATS, ExportError, check_target
from seg.model.checkpoint import CHECKPOINT_DIR
from seg.model.variants import VARIANTS
from seg.reports import deploy as deploy_report
from seg.tabs.common import DISK_ERRORS, DISK_FULL

FORMAT_NAMES = {"onnx": "ONNX", "pte": "ExecuTorch .pte"}
INTRO = """Phones and browsers are why DSC exists. Each model below is a file you can ship: **ONNX**
(ONNX Runtime on a server, onnxruntime-web in a browser) or an **ExecuTorch** program lowered to
XNNPACK (Android, iOS), in fp32 or int8 (static quantization calibrated on trainval images).
Files are built from the app's checkpoints on first request, checked against PyTorch, and kept."""


def saved_table(path: Path = deploy_report.PATH) -> str:
    result = deploy_report.load(path)
    if result is None:
        return f"_No benchmark table yet: `{deploy_report.COMMAND}` measures one on this machine._"
    return deploy_report.markdown(result)


def card_markdown(card: dict) -> str:
    check = card["verification"]
    where = card.get("delegated")
    lines = [f"**{card['file']}** — {card['bytes'] / 1e6:.2f} MB, {card['quantization']}, input "
             f"{'×'.join(map(str, card['input']['shape']))} RGB in [0, 1]; output logits for pet, background, border.",
             f"Argmax agrees with PyTorch on {check['pixel_agreement']:.3%} of pixels ({check['on']})."]
    if where:
        lines.append(f"XNNPACK runs {where['fraction']:.0%} of the program's operator nodes.")
    return "\n\n".join(lines)


class DeployTab:
    def __init__(self, checkpoint_dir=CHECKPOINT_DIR, out_dir=EXPORT_DIR):
        self.checkpoint_dir, self.out_dir = checkpoint_dir, out_dir

    def build(self, model: str, fmt: str, int8: bool):
        """The file (exported now if needed) and what its card says; a message where it fails."""
        from seg.deploy.export import ensure_export  # torch: imported by the first build, not at start-up

        try:
            card = ensure_export(check_target(model, fmt, int8), self.out_dir, self.checkpoint_dir)
        except ExportError as err:
            if err.errno in DISK_ERRORS:
                raise gr.Error(DISK_FULL) from None
            raise gr.Error(f"Could not build the file: {err}") from None
        return str(Path(self.out_dir) / card["file"]), card_markdown(card)

    def render(self):
        gr.Markdown(INTRO)
        gr.Markdown(saved_table())
        file = gr.File(label="Your file", interactive=False, render=False)
        card = gr.Markdown(render=False)
        for model in VARIANTS:
            with gr.Row():
                gr.Markdown(f"**{VARIANTS[model].title}**")
                for fmt in FORMATS:
                    for int8 in (False, True):
                        button = gr.Button(f"{FORMAT_NAMES[fmt]} {'int8' if int8 else 'fp32'}", size="sm")
                        button.click(lambda m=model, f=fmt, q=int8: self.build(m, f, q), None, [file, card],
                                     concurrency_id="export", concurrency_limit=1, api_visibility="private")
        file.render()
        card.render()
        gr.Markdown("How to run a file: see the repository's `docs/deploy.md` (ONNX Runtime in Python, "
                    "the `.pte` with ExecuTorch's runtime).")
