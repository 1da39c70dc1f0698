"""DSC for any PyTorch model: `convert` swaps its convolutions for depthwise-separable ones,
`report` says what that saves where; `python -m seg.dsc` on torchvision's models or the project's.

Imports seg.model.
"""

from seg.dsc.convert import convert, plan
from seg.dsc.report import report

__all__ = ["convert", "plan", "report"]
