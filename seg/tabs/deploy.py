"""The Deploy tab: what DSC buys on the edge (the table of the last `python bench.py` run), and
each model as a file to take away, built on first request and cached on disk."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from seg.deploy.export import EXPORT_DIR, FORMATS, ExportError, check_target, ensure_export
from seg.files import RESULTS as RESULTS_DIR
from seg.model.checkpoint import CHECKPOINT_DIR
from seg.model.variants import PAIR, VARIANTS

RESULTS = RESULTS_DIR / "deploy.json"  # written by bench.py
RUNTIMES = {"torch": "PyTorch (the app's fast path)", "onnx": "ONNX Runtime", "pte": "ExecuTorch + XNNPACK"}
FORMAT_NAMES = {"onnx": "ONNX", "pte": "ExecuTorch .pte"}
INTRO = """Phones and browsers are why DSC exists. Each model below is a file you can ship: **ONNX**
(ONNX Runtime on a server, onnxruntime-web in a browser) or an **ExecuTorch** program lowered to
XNNPACK (Android, iOS), in fp32 or int8 (static quantization calibrated on trainval images).
Files are built from the app's checkpoints on first request, checked against PyTorch, and kept."""


def ratio_rows(rows: list[dict]) -> list[tuple]:
    """(runtime, precision, regular row, DSC row) for every pair measured."""
    by_key = {(r["model"], r["runtime"], r["precision"]): r for r in rows}
    regular, dsc = PAIR
    return [(rt, pr, by_key[(regular, rt, pr)], by_key[(dsc, rt, pr)])
            for rt in RUNTIMES for pr in ("fp32", "int8") if (dsc, rt, pr) in by_key]


def table_markdown(rows: list[dict]) -> str:
    out = ["| runtime | precision | file MB regular / DSC (×) | batch-1 ms regular / DSC, median (×) | "
           "pixel acc regular / DSC | mIoU regular / DSC |", "|---|---|---|---|---|---|"]
    for runtime, precision, reg, dsc in ratio_rows(rows):
        ms_reg, ms_dsc = reg["latency_ms"]["median"], dsc["latency_ms"]["median"]
        out.append(f"| {RUNTIMES[runtime]} | {precision} | {reg['bytes'] / 1e6:.1f} / {dsc['bytes'] / 1e6:.2f} "
                   f"({reg['bytes'] / dsc['bytes']:.1f}×) | {ms_reg:.1f} / {ms_dsc:.1f} ({ms_reg / ms_dsc:.1f}×) | "
                   f"{reg['pixel_accuracy']:.2%} / {dsc['pixel_accuracy']:.2%} | "
                   f"{reg['miou']:.3f} / {dsc['miou']:.3f} |")
    fp32 = {(r["model"], r["runtime"]): r for r in rows if r["precision"] == "fp32"}
    drops = [f"{VARIANTS[r['model']].title}, {RUNTIMES[r['runtime']]}: "
             f"{(fp32[(r['model'], r['runtime'])]['pixel_accuracy'] - r['pixel_accuracy']) * 100:+.2f} points"
             for r in rows if r["precision"] == "int8"]
    out += ["", "int8's accuracy cost (fp32 − int8 pixel accuracy, all test images): " + "; ".join(drops) + "."]
    return "\n".join(out)


def saved_table(path: Path = RESULTS) -> str:
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        return "_No benchmark table yet: `python bench.py` measures one on this machine._"
    heading = f"Measured by `python bench.py` on {result['machine']} ({result['date']}):"
    return f"{heading}\n\n{table_markdown(result['rows'])}"


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
        try:
            card = ensure_export(check_target(model, fmt, int8), self.out_dir, self.checkpoint_dir)
        except ExportError as err:
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
        gr.Markdown("How to run a file: see the README's *Deploy* section (ONNX Runtime in Python, "
                    "the `.pte` with ExecuTorch's runtime).")
