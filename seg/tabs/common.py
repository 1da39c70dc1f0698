"""What every tab shows alike: the variants' display names, the mask legend, the GPU wrapper."""

from __future__ import annotations

from ..pets import CLASS_NAMES
from ..inference import COLOURS

TITLES = {"segnet_regular": "Regular SegNet", "segnet_dsc": "DSC SegNet",  # keyed by config.VARIANTS
          "segnet_dsc_deep": "Deep-DSC SegNet", "segnet_dsc_shallow": "Shallow-DSC SegNet"}
BLURBS = {"segnet_dsc_deep": "DSC in the deep blocks (enc3, enc4, dec4, dec3), regular elsewhere",
          "segnet_dsc_shallow": "DSC in the shallow blocks (enc1, enc2, dec2, dec1), regular elsewhere"}

try:  # ZeroGPU on Hugging Face Spaces; elsewhere the plain function runs
    import spaces

    gpu = spaces.GPU
except ImportError:
    def gpu(fn):
        return fn


def legend_html() -> str:
    swatches = "".join(
        f'<span style="display:inline-flex;align-items:center;margin-right:1em">'
        f'<span style="width:1em;height:1em;background:rgb{tuple(int(c) for c in rgb)};'
        f'display:inline-block;margin-right:.35em;border:1px solid #0003"></span>{name}</span>'
        for name, rgb in zip(CLASS_NAMES, COLOURS)
    )
    return f'<div class="legend">{swatches}</div>'
