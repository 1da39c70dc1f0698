"""The checkpoint format (`load_checkpoint`, `save_checkpoint`), at its old import path.

The code lives in seg/model/checkpoint.py; this module keeps the name people type."""

from seg.model.checkpoint import *  # noqa: F401,F403
