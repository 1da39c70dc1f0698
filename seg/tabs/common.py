"""What every tab shares: the ZeroGPU wrapper (titles and colours are the Variant record's)."""

from __future__ import annotations

try:  # ZeroGPU on Hugging Face Spaces; elsewhere the plain function runs
    import spaces

    gpu = spaces.GPU
except ImportError:
    def gpu(fn):
        return fn
