"""The SegNet builder (`create_model`), at its old import path.

The code lives in seg/model/segnet.py; this module keeps the name people type."""

from seg.model.segnet import *  # noqa: F401,F403
