"""What every tab shows alike: the variants' display names and the GPU wrapper."""

from __future__ import annotations

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
