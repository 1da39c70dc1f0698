"""What every tab shows alike: the variants' display names and the GPU wrapper."""

from __future__ import annotations

try:  # ZeroGPU on Hugging Face Spaces; elsewhere the plain function runs
    import spaces

    gpu = spaces.GPU
except ImportError:
    def gpu(fn):
        return fn
